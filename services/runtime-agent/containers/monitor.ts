import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { messageOf } from '../../../libs/errors';
import type { RuntimeContext } from './context';
import { handleExitFile, handleVanishedProcess, processAlive } from './exits';
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
  /** Running containers whose process was gone at the last sweep, with no exit file yet. */
  private vanished = new Set<string>();

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

  /**
   * Every exit file present: exits that happened while nobody watched. And the running containers
   * whose process is gone without one: those still so at the next sweep (a file may be on its way)
   * are recorded as exited with an unknown status.
   */
  async sweep(): Promise<void> {
    try {
      const files = new Set((await readdir(exitsDir(this.context.stateDir))).filter((file) => /^[0-9a-f]{64}$/.test(file)));
      for (const file of files) this.handle(file);
      const running = await this.context.repository.runningOf(this.context.node);
      const gone = running.filter(({ id, pid }) => !files.has(id) && !processAlive(pid)).map(({ id }) => id);
      for (const id of gone.filter((id) => this.vanished.has(id))) {
        handleVanishedProcess(this.context, id).catch((err: unknown) => this.context.logger.error({ container: id }, `recording the exit failed: ${messageOf(err)}`));
      }
      this.vanished = new Set(gone);
    } catch (err) {
      this.context.logger.warn(`exit sweep: ${messageOf(err)}`);
    }
  }

  private handle(id: string): void {
    handleExitFile(this.context, id).catch((err: unknown) => this.context.logger.error({ container: id }, `recording the exit failed: ${messageOf(err)}`));
  }
}
