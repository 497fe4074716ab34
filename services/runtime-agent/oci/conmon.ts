import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Socket } from 'node:net';
import { failedPrecondition } from '../../../libs/errors';

export interface ConmonOptions {
  conmon: string;
  /** The OCI runtime (runc or crun): a path or a name on the PATH. */
  runtime: string;
  id: string;
  bundle: string;
  /** conmon writes the exit status here, in a file named after the container. */
  exitDir: string;
  /** The container's log (k8s-file format). */
  logPath: string;
  /** Bytes; at the cap conmon starts the file over. */
  logSizeMax?: number;
  conmonPidFile: string;
  /** Flags for the runtime before its command, such as its --root. */
  runtimeArgs?: string[];
  /** conmon writes `exit` here, and `oom` when the kernel killed the container for memory. */
  persistDir?: string;
  /** Keep the container's stdin open for attach; it closes when the first attached client closes it. */
  stdin?: boolean;
  /** Give the container a terminal (its config's process.terminal must be true). */
  tty?: boolean;
}

/** A program's full path: conmon needs the runtime's. */
export function resolveProgram(program: string): string {
  if (program.includes('/')) return program;
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).concat(['/usr/sbin', '/sbin'])) {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return join(dir, program);
    } catch {
      // not here
    }
  }
  throw failedPrecondition(`${program} not found on the PATH: install it (deploy/setup.sh does) or configure its path`);
}

/**
 * Creates a container through conmon (RUNTIME-NOTES.md): conmon runs `runtime create`, keeps the
 * container's stdio and log, writes its exit status, and outlives this process. Returns the
 * container's pid once the runtime has created it; the caller then runs `runtime start`.
 */
export async function createWithConmon(options: ConmonOptions): Promise<number> {
  const runtime = resolveProgram(options.runtime);
  const args = [
    '--api-version', '1',
    '-c', options.id,
    '-u', options.id,
    '-r', runtime,
    '-b', options.bundle,
    '-p', join(options.bundle, 'pidfile'),
    '-n', options.id,
    '--exit-dir', options.exitDir,
    '--full-attach',
    '-l', `k8s-file:${options.logPath}`,
    '--log-level', 'error',
    '--conmon-pidfile', options.conmonPidFile,
    ...(options.logSizeMax !== undefined ? ['--log-size-max', String(options.logSizeMax)] : []),
    ...(options.persistDir !== undefined ? ['--persist-dir', options.persistDir] : []),
    ...(options.stdin ? ['-i'] : []),
    ...(options.tty ? ['-t'] : []),
    ...(options.runtimeArgs ?? []).flatMap((arg) => ['--runtime-arg', arg]),
  ];
  // conmon reads the sync and start pipes as fds 3 and 4; Node's extra 'pipe' entries are socketpairs.
  const child = spawn(resolveProgram(options.conmon), args, {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4' },
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const sync = child.stdio[3] as Socket;
  const start = child.stdio[4] as Socket;
  // conmon outlives this call and may close its ends abruptly: a reset there is not the agent's failure.
  for (const stream of [child.stderr!, sync, start]) stream.on('error', () => undefined);
  try {
    // conmon waits on the start pipe before it forks: one byte lets it go.
    start.write(Buffer.from([0]));
    const line = await firstLine(sync, () => stderr);
    const message = JSON.parse(line) as { data: number; message?: string };
    if (message.data < 0) throw failedPrecondition(`the runtime could not create container ${options.id}: ${message.message?.trim() || 'no reason given'}`);
    return message.data;
  } finally {
    sync.destroy();
    start.destroy();
    child.unref();
  }
}

/** One line from conmon's sync pipe (not to its end: conmon keeps the pipe open). */
function firstLine(socket: Socket, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const newline = text.indexOf('\n');
      if (newline !== -1) resolve(text.slice(0, newline));
    });
    socket.once('close', () => (text.trim() !== '' ? resolve(text.trim()) : reject(failedPrecondition(`conmon ended without a word: ${stderr().trim()}`))));
    socket.once('error', reject);
  });
}

/** The exit status conmon wrote (the code, or 128 + the signal), or undefined while it runs. */
export async function readExitStatus(exitDir: string, id: string): Promise<number | undefined> {
  try {
    return Number((await readFile(join(exitDir, id), 'utf8')).trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Lines of a k8s-file log: partial chunks ("P") joined up to the next full line ("F"). */
export function parseK8sLog(text: string): Array<{ time: string; stream: 'stdout' | 'stderr'; line: string }> {
  const lines: Array<{ time: string; stream: 'stdout' | 'stderr'; line: string }> = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const match = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/.exec(raw);
    if (match === null) continue;
    pending += match[4];
    if (match[3] === 'F') {
      lines.push({ time: match[1]!, stream: match[2] as 'stdout' | 'stderr', line: pending });
      pending = '';
    }
  }
  return lines;
}
