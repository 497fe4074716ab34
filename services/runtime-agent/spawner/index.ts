import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import type { Reply, Request, RunReply, SpawnedReply, SpawnFailedReply } from './protocol';

/**
 * The programs of a container's life (mount, ip, conmon, runc, umount: eight for one `run`) are
 * started by a small helper process rather than by the agent itself. fork() copies the page tables
 * of the process that calls it and makes all its memory copy-on-write: from the agent, with its
 * hundred-odd megabytes, that costs about 8 ms a program on a 2-core virtual machine, from the
 * helper about 1.5 ms. The helper is forked once, on first use, and follows the agent out.
 */

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the program's stdin. */
  input?: string;
}

/** What execFile's promise rejects with: the exit code (or errno), and what the program wrote. */
export interface ProgramError extends Error {
  code?: number | string;
  signal?: string | null;
  stdout: string;
  stderr: string;
}

/** A program started with relayed pipes: stderr is fd 2, the extra pipes 3, 4, ... */
export interface PipedProgram {
  pid: number;
  pipes: Map<number, Duplex>;
  /** The agent is done with it: the pipes close and the program lives on alone. */
  release(): void;
}

type Pending =
  | { kind: 'run'; resolve(reply: RunReply): void; reject(err: Error): void }
  | { kind: 'spawn'; resolve(reply: SpawnedReply | SpawnFailedReply): void; reject(err: Error): void; pipes: Map<number, Duplex> };

class Spawner {
  private helper?: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** Runs a program to its end, as promisified execFile does. */
  async run(file: string, args: string[], options: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
    const id = this.nextId++;
    const reply = await new Promise<RunReply>((resolve, reject) => {
      this.pending.set(id, { kind: 'run', resolve, reject });
      this.send({ op: 'run', id, file, args, ...options });
    });
    if (reply.error === undefined) return { stdout: reply.stdout, stderr: reply.stderr };
    throw Object.assign(new Error(reply.error.message), { ...reply.error, stdout: reply.stdout, stderr: reply.stderr }) as ProgramError;
  }

  /** Starts a program with its stderr and `pipes` more descriptors relayed to this process. */
  async spawn(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; pipes: number; detached: boolean }): Promise<PipedProgram> {
    const id = this.nextId++;
    const pipes = new Map<number, Duplex>();
    for (let fd = 2; fd < 3 + options.pipes; fd++) pipes.set(fd, this.relayedPipe(id, fd));
    const reply = await new Promise<SpawnedReply | SpawnFailedReply>((resolve, reject) => {
      this.pending.set(id, { kind: 'spawn', resolve, reject, pipes });
      this.send({ op: 'spawn', id, file, args, ...options });
    });
    if (reply.op === 'spawn-failed') {
      this.forget(id);
      throw Object.assign(new Error(`cannot run ${file}: ${reply.message}`), { code: reply.code });
    }
    return {
      pid: reply.pid,
      pipes,
      release: () => {
        if (!this.pending.has(id)) return;
        this.forget(id);
        for (const pipe of pipes.values()) pipe.destroy();
        this.send({ op: 'release', id });
      },
    };
  }

  /** One of a spawned program's pipes, as a stream: reads come from the helper, writes go to it. */
  private relayedPipe(id: number, fd: number): Duplex {
    return new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _encoding, callback) => {
        this.send({ op: 'write', id, fd, data: chunk });
        callback();
      },
    });
  }

  private send(request: Request): void {
    const helper = this.helper ?? this.startHelper();
    // Held open only while something waits on the helper: an idle helper keeps no process alive.
    helper.ref();
    (helper.channel as { ref?(): void } | undefined)?.ref?.();
    helper.send(request);
  }

  private forget(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0 && this.helper !== undefined) {
      this.helper.unref();
      (this.helper.channel as { unref?(): void } | undefined)?.unref?.();
    }
  }

  private startHelper(): ChildProcess {
    const env = { ...process.env };
    // The agent's preloads (telemetry) have nothing to do in the helper.
    delete env.NODE_OPTIONS;
    const helper = fork(join(__dirname, 'main.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', execArgv: [], env });
    helper.on('message', (reply: Reply) => this.receive(reply));
    helper.on('exit', () => {
      this.helper = undefined;
      const lost = [...this.pending.values()];
      this.pending.clear();
      for (const waiting of lost) {
        waiting.reject(new Error('the spawner process exited'));
        if (waiting.kind === 'spawn') for (const pipe of waiting.pipes.values()) pipe.push(null);
      }
    });
    this.helper = helper;
    return helper;
  }

  private receive(reply: Reply): void {
    const waiting = this.pending.get(reply.id);
    if (waiting === undefined) return;
    switch (reply.op) {
      case 'ran':
        this.forget(reply.id);
        if (waiting.kind === 'run') waiting.resolve(reply);
        return;
      case 'spawned':
      case 'spawn-failed':
        if (waiting.kind === 'spawn') waiting.resolve(reply);
        return;
      case 'data':
        if (waiting.kind === 'spawn') waiting.pipes.get(reply.fd)?.push(Buffer.from(reply.data));
        return;
      case 'end':
        if (waiting.kind === 'spawn') waiting.pipes.get(reply.fd)?.push(null);
        return;
    }
  }
}

const spawner = new Spawner();

/** Runs a program to its end through the spawner; rejects with a ProgramError as execFile would. */
export function runProgram(file: string, args: string[], options?: RunOptions): Promise<{ stdout: string; stderr: string }> {
  return spawner.run(file, args, options);
}

/** Starts a program through the spawner with its stderr and `pipes` further descriptors relayed. */
export function spawnPiped(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; pipes: number; detached: boolean }): Promise<PipedProgram> {
  return spawner.spawn(file, args, options);
}
