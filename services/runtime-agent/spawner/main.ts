/**
 * The spawner process: starts programs for the runtime-agent (see index.ts for why). It loads
 * nothing but Node's own modules, so that it stays small; it ends with the agent's IPC channel.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Reply, Request, RunRequest, SpawnRequest } from './protocol';

/** Large enough for any program the agent reads (runc state and ps, ip, iptables). */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** Spawned programs the agent has not released, by request id: their relayed pipes by descriptor. */
const spawned = new Map<number, { child: ChildProcess; pipes: Map<number, Socket> }>();

function reply(message: Reply): void {
  process.send?.(message);
}

function run(request: RunRequest): void {
  const child = execFile(request.file, request.args, { cwd: request.cwd, env: request.env, maxBuffer: MAX_OUTPUT_BYTES }, (err, stdout, stderr) => {
    const error = err === null ? undefined : { message: err.message, code: err.code ?? undefined, signal: err.signal, killed: err.killed };
    reply({ op: 'ran', id: request.id, stdout, stderr, error });
  });
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(request.input);
}

function start(request: SpawnRequest): void {
  let child: ChildProcess;
  try {
    child = spawn(request.file, request.args, {
      stdio: ['ignore', 'ignore', 'pipe', ...Array.from({ length: request.pipes }, () => 'pipe' as const)],
      env: request.env,
      cwd: request.cwd,
      detached: request.detached,
    });
  } catch (err) {
    return reply({ op: 'spawn-failed', id: request.id, message: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
  }
  if (child.pid === undefined) {
    // The error event follows (ENOENT, EACCES): it is the answer.
    child.once('error', (err: NodeJS.ErrnoException) => reply({ op: 'spawn-failed', id: request.id, message: err.message, code: err.code }));
    return;
  }
  const pipes = new Map<number, Socket>();
  (child.stdio as unknown as Array<Socket | null>).forEach((stream, fd) => {
    if (stream === null) return;
    pipes.set(fd, stream);
    // The program may outlive the agent's interest and close its ends abruptly.
    stream.on('error', () => undefined);
    stream.on('data', (data: Buffer) => reply({ op: 'data', id: request.id, fd, data }));
    stream.on('end', () => reply({ op: 'end', id: request.id, fd }));
  });
  spawned.set(request.id, { child, pipes });
  reply({ op: 'spawned', id: request.id, pid: child.pid });
}

process.on('message', (request: Request) => {
  switch (request.op) {
    case 'run':
      return run(request);
    case 'spawn':
      return start(request);
    case 'write':
      spawned.get(request.id)?.pipes.get(request.fd)?.write(request.data);
      return;
    case 'release': {
      const program = spawned.get(request.id);
      spawned.delete(request.id);
      for (const pipe of program?.pipes.values() ?? []) pipe.destroy();
      program?.child.unref();
      return;
    }
  }
});

// The agent went (or closed the channel): nothing is left to do. Spawned programs live on.
process.on('disconnect', () => process.exit(0));
