import type { Database } from '../../../libs/db';
import type { EventWriter } from '../../../libs/events';
import type { KeyedLock } from '../../../libs/lock';
import type { Logger } from '../../../libs/logging';
import type { VolumeRepository } from '../store/repository';

/** What the volume operations work with. */
export interface VolumeContext {
  node: string;
  db: Database;
  repository: VolumeRepository;
  events: EventWriter;
  logger: Logger;
  /** Where volume directories live: <root>/<name>/_data. */
  root: string;
  /** One operation at a time per volume name. */
  locks: KeyedLock;
  /** Volumes an export, import or clone is reading or writing now, with how many. */
  transfers: Map<string, number>;
}
