import type { Database } from '../../../libs/db';
import type { EventWriter } from '../../../libs/events';
import type { Logger } from '../../../libs/logging';
import type { ContentStore, Leases } from '../content';
import type { ImageRepository } from '../store/repository';

/** What the image operations work with. */
export interface ImageContext {
  db: Database;
  repository: ImageRepository;
  content: ContentStore;
  leases: Leases;
  events: EventWriter;
  logger: Logger;
  /** Registries reached over plain HTTP although not on loopback. */
  insecureRegistries: string[];
  /** How long to wait for a registry. */
  registryTimeoutMs: number;
  /** How many containers use an image: asked of the runtime-agents, which own containers. */
  containersUsing: ContainersUsing;
}

export type ContainersUsing = (imageId: string) => Promise<number>;

/** Progress of one piece of a long operation, as Docker shows it. */
export interface Progress {
  id: string;
  status: string;
  current?: number;
  total?: number;
}

export type ProgressSink = (progress: Progress) => void;

/** "sha256:abcdef0123456789..." → "abcdef012345": how Docker names a layer in progress lines. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}
