import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition, notFound } from '../../../libs/errors';
import { runProgram } from '../spawner';
import { resolveProgram } from './conmon';

/** What the OCI runtime reports of a container: `runc state`. */
export interface RuntimeState {
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  pid: number;
}

export interface ResourceUpdate {
  memoryBytes?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  pidsLimit?: number;
}

/**
 * The OCI runtime's command line (runc, or crun which takes the same commands), with Berth's own
 * state root so that its containers never mix with those of other tools on the host.
 */
export class OciRuntime {
  readonly binary: string;

  constructor(
    binary: string,
    /** runc's --root: where it keeps the state of Berth's containers. */
    readonly root: string,
  ) {
    this.binary = resolveProgram(binary);
  }

  /** The flags that go before every command, for conmon's --runtime-arg too. */
  get globalArgs(): string[] {
    return ['--root', this.root];
  }

  async state(id: string): Promise<RuntimeState | undefined> {
    try {
      const { stdout } = await this.run(['state', id]);
      return JSON.parse(stdout) as RuntimeState;
    } catch (err) {
      if (/does not exist|not exist/.test(messageOf(err))) return undefined;
      throw err;
    }
  }

  async start(id: string): Promise<void> {
    await this.run(['start', id]);
  }

  /** Sends a signal ("TERM", "SIGKILL", "9") to the container's main process. */
  async kill(id: string, signal: string): Promise<void> {
    await this.run(['kill', id, signal]);
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id]);
  }

  /** Forgets a stopped container (with force, kills it first); one the runtime does not know is fine. */
  async delete(id: string, force = false): Promise<void> {
    // The runtime keeps a directory per container it knows: none means nothing to forget (and no process to spawn).
    if (!existsSync(join(this.root, id))) return;
    try {
      await this.run(['delete', ...(force ? ['--force'] : []), id]);
    } catch (err) {
      if (!/does not exist|not exist/.test(messageOf(err))) throw err;
    }
  }

  async update(id: string, resources: ResourceUpdate): Promise<void> {
    const args = ['update'];
    if (resources.memoryBytes !== undefined) args.push('--memory', String(resources.memoryBytes), '--memory-swap', String(resources.memoryBytes));
    if (resources.cpuQuota !== undefined) args.push('--cpu-quota', String(resources.cpuQuota), '--cpu-period', String(resources.cpuPeriod));
    if (resources.pidsLimit !== undefined) args.push('--pids-limit', String(resources.pidsLimit));
    await this.run([...args, id]);
  }

  /** The pids of every process in the container. */
  async processes(id: string): Promise<number[]> {
    const { stdout } = await this.run(['ps', '--format', 'json', id]);
    return (JSON.parse(stdout) as number[] | null) ?? [];
  }

  /** Starts another process in the container from a process.json; its stdio are pipes. */
  exec(id: string, processFile: string): ChildProcess {
    return spawn(this.binary, [...this.globalArgs, 'exec', '--process', processFile, id], { stdio: ['pipe', 'pipe', 'pipe'] });
  }

  private async run(args: string[]): Promise<{ stdout: string }> {
    try {
      return await runProgram(this.binary, [...this.globalArgs, ...args]);
    } catch (err) {
      const text = messageOf(err);
      if (/does not exist/.test(text)) throw notFound(`the runtime does not know container ${args.at(-1)}: ${text}`);
      throw failedPrecondition(`${args[0]} failed: ${text}`);
    }
  }
}

function messageOf(err: unknown): string {
  const stderr = (err as { stderr?: string }).stderr?.trim();
  // runc's errors are JSON-ish log lines ("level=error msg=..."); keep the message.
  const msg = stderr ? (/msg="?(.*?)"?$/m.exec(stderr)?.[1] ?? stderr) : (err as Error).message;
  return msg;
}
