import type { Database } from '../../../libs/db';
import type { EventWriter } from '../../../libs/events';
import type { Logger } from '../../../libs/logging';
import type { PreparedImage } from '../images';
import type { LayerStore } from '../layers';
import type { OciRuntime } from '../oci';
import type { ContainerRepository } from '../store/repository';
import type { KeyedLock } from './lock';
import type { ContainerWatch } from './watch';

/** Makes an image ready on this host (resolve and unpack its layers). */
export type PrepareImage = (image: string, platform: string) => Promise<PreparedImage>;

/** What the container operations work with. */
export interface RuntimeContext {
  node: string;
  db: Database;
  repository: ContainerRepository;
  events: EventWriter;
  logger: Logger;
  runtime: OciRuntime;
  conmon: string;
  layers: LayerStore;
  prepareImage: PrepareImage;
  /** Whether the image-store still has an image (its layers may go when it has not). */
  imageExists(imageId: string): Promise<boolean>;
  /** Per-container directories live under containers/, conmon's exit files under exits/. */
  stateDir: string;
  logSizeMax: number;
  watch: ContainerWatch;
  locks: KeyedLock;
  /** Timers of pending restarts and health checks, cancelled by stop and remove. */
  timers: Map<string, NodeJS.Timeout>;
  healthTimers: Map<string, NodeJS.Timeout>;
}
