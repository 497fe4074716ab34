import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Logger } from '../../libs/logging';

export interface ProcessSpec {
  /** The name in logs: "postgres", "nats", "image-store", ... */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user (Postgres refuses to run as root). */
  uid?: number;
  gid?: number;
  /** The signal that asks for an orderly stop. */
  stopSignal: NodeJS.Signals;
  /** After this, SIGKILL. */
  stopTimeoutMs: number;
  /** Every line of output is appended here. */
  logFile: string;
}

const RESTART_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

/**
 * One process that `berth up` keeps running: its output goes line by line to its log file (and to
 * onLine, for the terminal); if it dies on its own it is started again, with growing delays.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restarts = 0;
  private readonly log: WriteStream;
  private readonly recent: string[] = [];
  private exitWaiters: Array<(code: number | null) => void> = [];

  constructor(
    readonly spec: ProcessSpec,
    private readonly logger: Logger,
    private readonly onLine?: (name: string, line: string) => void,
  ) {
    this.log = createWriteStream(spec.logFile, { flags: 'a', mode: 0o600 });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines the process wrote, to explain a failed start. */
  lastLines(): string[] {
    return [...this.recent];
  }

  start(): void {
    const child = spawn(this.spec.command, this.spec.args, {
      env: this.spec.env ?? process.env,
      cwd: this.spec.cwd,
      uid: this.spec.uid,
      gid: this.spec.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl-C on a terminal reaches only `berth up`, which stops the
      // processes in order, rather than all of them at once.
      detached: true,
    });
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => this.line(line));
    }
    child.once('error', (err) => this.line(`cannot start ${this.spec.command}: ${err.message}`));
    child.once('exit', (code, signal) => this.exited(code, signal));
  }

  /** Resolves when the process exits, with its exit code (null after a signal). */
  waitForExit(): Promise<number | null> {
    if (this.child === undefined || this.child.exitCode !== null || this.child.signalCode !== null) {
      return Promise.resolve(this.child?.exitCode ?? null);
    }
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /** Asks the process to stop, and kills it if it has not after stopTimeoutMs. */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return this.closeLog();
    const exited = this.waitForExit();
    child.kill(this.spec.stopSignal);
    const timer = setTimeout(() => {
      this.logger.warn(`${this.spec.name} did not stop within ${this.spec.stopTimeoutMs} ms: killing it`);
      child.kill('SIGKILL');
    }, this.spec.stopTimeoutMs);
    await exited;
    clearTimeout(timer);
    await this.closeLog();
  }

  private line(line: string): void {
    this.log.write(`${line}\n`);
    this.recent.push(line);
    if (this.recent.length > 20) this.recent.shift();
    this.onLine?.(this.spec.name, line);
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    const waiters = this.exitWaiters;
    this.exitWaiters = [];
    for (const resolve of waiters) resolve(code);
    if (this.stopping) return;
    const delay = RESTART_DELAYS_MS[Math.min(this.restarts, RESTART_DELAYS_MS.length - 1)]!;
    this.restarts++;
    this.logger.warn(`${this.spec.name} exited (${signal ?? `code ${code}`}); starting it again in ${delay / 1000} s`);
    setTimeout(() => {
      if (!this.stopping) this.start();
    }, delay).unref();
  }

  private closeLog(): Promise<void> {
    return new Promise((resolve) => this.log.end(resolve));
  }
}
