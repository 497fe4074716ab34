import type { Database } from '../../../libs/db';
import type { EventWriter } from '../../../libs/events';
import type { Logger } from '../../../libs/logging';
import type { ImageStore } from '../images';
import type { LayerStore } from '../layers';
import type { NetworkManager } from '../network';
import type { NodeRegistry } from '../nodes/registry';
import type { OciRuntime } from '../oci';
import type { ContainerRepository } from '../store/repository';
import type { VolumeService } from '../volumes';
import type { KeyedLock } from '../../../libs/lock';
import type { ContainerWatch } from './watch';

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
  /** Images to run (resolved and unpacked here), and images that commit makes. */
  images: ImageStore;
  /** The volumes containers mount: their uses, and their host directories. */
  volumes: VolumeService;
  /** The node's networks: containers' endpoints, namespaces and published ports. */
  networks: NetworkManager;
  /** This node in the cluster's table of nodes. */
  nodes: NodeRegistry;
  /** Per-container directories live under containers/, conmon's exit files under exits/. */
  stateDir: string;
  /** conmon's attach sockets: under the run directory, whose paths are short. */
  attachDir: string;
  logSizeMax: number;
  watch: ContainerWatch;
  locks: KeyedLock;
  /** Timers of pending restarts and health checks, cancelled by stop and remove. */
  timers: Map<string, NodeJS.Timeout>;
  healthTimers: Map<string, NodeJS.Timeout>;
}
