import { accessSync, constants } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { failedPrecondition } from '../../../libs/errors';
import { spawnPiped, type PipedProgram } from '../spawner';

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
  /**
   * Where conmon makes the container's attach socket (as `<socketDir>/<short id>/attach`, a link to
   * the bundle): a socket path is limited to 108 bytes, which a bundle under a long state directory exceeds.
   */
  socketDir: string;
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
  await mkdir(options.socketDir, { recursive: true, mode: 0o700 });
  // runc makes its pid file through ".pidfile" with O_EXCL: one left by an attempt that failed (a
  // full disk) would fail every later start.
  await Promise.all(['pidfile', '.pidfile'].map((name) => rm(join(options.bundle, name), { force: true })));
  const conmon = await ConmonProcess.spawn(options.conmon, [
    ...commonArgs(options),
    '-u', attachId(options.id),
    '--socket-dir-path', options.socketDir,
    '-p', join(options.bundle, 'pidfile'),
    '--exit-dir', options.exitDir,
    '-l', `k8s-file:${options.logPath}`,
    '--conmon-pidfile', options.conmonPidFile,
    ...(options.logSizeMax !== undefined ? ['--log-size-max', String(options.logSizeMax)] : []),
    ...(options.persistDir !== undefined ? ['--persist-dir', options.persistDir] : []),
    ...(options.stdin ? ['-i'] : []),
    ...(options.tty ? ['-t'] : []),
  ], { cwd: options.bundle });
  try {
    // conmon waits on the start pipe before it forks: one byte lets it go.
    conmon.release();
    const message = await conmon.sync.next();
    if (message.data < 0) throw failedPrecondition(`the runtime could not create container ${options.id}: ${message.message?.trim() || 'no reason given'}`);
    return message.data;
  } finally {
    conmon.detach();
  }
}

export interface ConmonExecOptions {
  conmon: string;
  runtime: string;
  runtimeArgs?: string[];
  /** The container. */
  id: string;
  /** The exec's own directory: conmon's bundle for it (its attach socket, ctl FIFO and exit file). */
  bundle: string;
  /** The process spec (process.json) to run. */
  processFile: string;
  stdin: boolean;
  tty: boolean;
}

/** An exec process run by conmon: attach to it before it starts, then wait for its exit code. */
export interface ConmonExec {
  /** Resolves with the exit code (126/127 are the runtime's, when the process could not start). */
  exited: Promise<number>;
}

/**
 * Runs a process in a running container through conmon (`-e --exec-attach`), as podman does for a
 * terminal: conmon makes the attach socket in bundle and waits; onReady attaches to it; then the
 * process starts. Used for execs with a terminal, which `runtime exec` can only give to a process
 * that can take a terminal's fd over a socket.
 */
export async function execWithConmon(options: ConmonExecOptions, onReady: () => Promise<void>): Promise<ConmonExec> {
  const conmon = await ConmonProcess.spawn(
    options.conmon,
    [
      ...commonArgs(options),
      // The exec's own directory is short: its socket can live in it.
      '-u', options.id,
      '--full-attach',
      '-p', join(options.bundle, 'pid'),
      '--exit-dir', options.bundle,
      '-l', 'none',
      '-e', '--exec-process-spec', options.processFile, '--exec-attach',
      ...(options.stdin ? ['-i'] : []),
      ...(options.tty ? ['-t'] : []),
    ],
    { cwd: options.bundle, withAttachPipe: true },
  );
  try {
    conmon.release();
    const ready = await conmon.attach!.next();
    if (ready.data < 0) throw failedPrecondition(`the runtime could not run the process: ${ready.message?.trim() || 'no reason given'}`);
    await onReady();
    conmon.release();
    const started = await conmon.sync.next();
    if (started.data < 0) throw failedPrecondition(`the runtime could not run the process: ${started.message?.trim() || 'no reason given'}`);
  } catch (err) {
    conmon.detach();
    throw err;
  }
  return {
    exited: conmon.sync.next().then(
      (message) => message.data,
      () => 255,
    ).finally(() => conmon.detach()),
  };
}

/** The arguments every conmon run takes: the container, its runtime and the bundle. */
function commonArgs(options: { id: string; runtime: string; bundle: string; runtimeArgs?: string[] }): string[] {
  return [
    '--api-version', '1',
    '-c', options.id,
    '-r', resolveProgram(options.runtime),
    '-b', options.bundle,
    '-n', options.id,
    '--log-level', 'error',
    ...(options.runtimeArgs ?? []).flatMap((arg) => ['--runtime-arg', arg]),
  ];
}

/** The name of a container's directory under the socket directory: short, and unique enough. */
function attachId(id: string): string {
  return id.slice(0, 20);
}

/** The link conmon makes under socketDir to the container's bundle, where the attach socket is. */
export function attachLinkPath(socketDir: string, id: string): string {
  return join(socketDir, attachId(id));
}

/** The path of a container's attach socket, made by conmon under socketDir. */
export function attachSocketPath(socketDir: string, id: string): string {
  return join(attachLinkPath(socketDir, id), 'attach');
}

/** A message on one of conmon's pipes: a pid, an exit code, or -1 with the runtime's error. */
interface ConmonMessage {
  data: number;
  message?: string;
}

/**
 * conmon with its pipes (RUNTIME-NOTES.md §1): sync (fd 3) carries its messages, a byte on start
 * (fd 4) lets it go on, and attach (fd 5) says when an exec's attach socket is ready. The spawner
 * starts it (its pipes are socketpairs, which is what conmon expects) and relays them.
 */
class ConmonProcess {
  private constructor(
    private readonly program: PipedProgram,
    readonly sync: MessageReader,
    private readonly start: Writable,
    readonly attach: MessageReader | undefined,
  ) {}

  /**
   * cwd is the container's (or the exec's) own directory: conmon leaves files where it runs (an
   * "oom" file on an OOM kill), which must not land in the agent's working directory.
   */
  static async spawn(conmon: string, args: string[], options: { cwd: string; withAttachPipe?: boolean }): Promise<ConmonProcess> {
    const withAttachPipe = options.withAttachPipe ?? false;
    const program = await spawnPiped(resolveProgram(conmon), args, {
      cwd: options.cwd,
      pipes: withAttachPipe ? 3 : 2,
      env: { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4', ...(withAttachPipe ? { _OCI_ATTACHPIPE: '5' } : {}) },
      detached: true,
    });
    let stderr = '';
    program.pipes.get(2)!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const reader = (fd: number) => new MessageReader(program.pipes.get(fd)!, () => stderr);
    return new ConmonProcess(program, reader(3), program.pipes.get(4)!, withAttachPipe ? reader(5) : undefined);
  }

  /** One byte on the start pipe: conmon goes on to its next step. */
  release(): void {
    this.start.write(Buffer.from([0]));
  }

  /** Lets conmon live on alone. */
  detach(): void {
    this.program.release();
  }
}

/** JSON lines from one of conmon's pipes, one at a time (conmon keeps the pipe open between them). */
class MessageReader {
  private buffered = '';
  private waiting?: { resolve(line: string): void; reject(err: Error): void };
  private closed = false;

  constructor(
    pipe: Readable,
    private readonly stderr: () => string,
  ) {
    pipe.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString();
      this.deliver();
    });
    // 'end' when conmon closes its end; 'close' when the agent lets go of the pipe first.
    for (const event of ['end', 'close']) {
      pipe.once(event, () => {
        this.closed = true;
        this.deliver();
      });
    }
  }

  next(): Promise<ConmonMessage> {
    return new Promise<string>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    }).then((line) => JSON.parse(line) as ConmonMessage);
  }

  private deliver(): void {
    if (this.waiting === undefined) return;
    const newline = this.buffered.indexOf('\n');
    const { resolve, reject } = this.waiting;
    if (newline !== -1) {
      this.waiting = undefined;
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      resolve(line);
    } else if (this.closed) {
      this.waiting = undefined;
      if (this.buffered.trim() !== '') resolve(this.buffered.trim());
      else reject(failedPrecondition(`conmon ended without a word: ${this.stderr().trim()}`));
    }
  }
}

/** The exit status conmon wrote (the code, or 128 + the signal), or undefined while it runs. */
export async function readExitStatus(exitDir: string, id: string): Promise<number | undefined> {
  try {
    const text = (await readFile(join(exitDir, id), 'utf8')).trim();
    // A file read before its status is in it is no exit yet: the write is another change of the
    // directory, which the watcher (or the sweep) sees.
    return /^-?\d+$/.test(text) ? Number(text) : undefined;
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
