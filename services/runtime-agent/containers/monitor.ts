import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { messageOf } from '../../../libs/errors';
import type { RuntimeContext } from './context';
import { handleExitFile } from './exits';
import { exitsDir } from './paths';

/** A backstop for exits the file watch might miss (inotify queues can overflow). */
const SWEEP_INTERVAL_MS = 5_000;

/**
 * Notices containers' exits: conmon writes a file named by the container's id into the exits
 * directory when the container's process ends, whether or not this agent was alive then.
 */
export class ExitMonitor {
  private watcher?: FSWatcher;
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly context: RuntimeContext) {}

  async start(): Promise<void> {
    const dir = exitsDir(this.context.stateDir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    this.watcher = watch(dir, (_event, file) => {
      if (file !== null && /^[0-9a-f]{64}$/.test(file)) this.handle(file);
    });
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    await this.sweep();
  }

  stop(): void {
    this.watcher?.close();
    clearInterval(this.sweeper);
  }

  /** Every exit file present: exits that happened while nobody watched. */
  async sweep(): Promise<void> {
    try {
      for (const file of await readdir(exitsDir(this.context.stateDir))) {
        if (/^[0-9a-f]{64}$/.test(file)) this.handle(file);
      }
    } catch (err) {
      this.context.logger.warn(`exit sweep: ${messageOf(err)}`);
    }
  }

  private handle(id: string): void {
    handleExitFile(this.context, id).catch((err: unknown) => this.context.logger.error({ container: id }, `recording the exit failed: ${messageOf(err)}`));
  }
}
