import { randomBytes } from 'node:crypto';
import { readFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { invalidArgument } from '../../../libs/errors';
import { AttachConnection, execWithConmon } from '../oci';
import { forwardAttachInput, type AttachInput } from './attach';
import type { RuntimeContext } from './context';
import { recordEvent } from './events';
import { findLocalContainer, requireState } from './lookup';
import type { Container } from './model';
import { containerPaths } from './paths';
import { resolveUser } from './users';

export interface ExecOptions {
  cmd: string[];
  env: string[];
  user: string;
  workingDir: string;
  privileged: boolean;
  /** Give the process a terminal (through conmon, as its attach socket carries it). */
  tty?: boolean;
  /** The client's input: stdin bytes, its end, terminal sizes. None closes stdin at once. */
  input?: AsyncIterable<AttachInput>;
}

export interface ExecOutput {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

/** Exit codes of a process that could not be started, as Docker gives them. */
const NOT_FOUND = 127;
const NOT_EXECUTABLE = 126;

/** `docker exec`: runs a process in a running container, with exec_create/start/die events. */
export async function execInContainer(context: RuntimeContext, text: string, options: ExecOptions, output: ExecOutput, onId?: (id: string) => void): Promise<number> {
  const container = await findLocalContainer(context, text);
  requireState(container, 'exec in', ['running']);
  const execId = randomBytes(32).toString('hex');
  onId?.(execId);
  const attributes = { execID: execId, execCommand: options.cmd.join(' ') };
  await recordContainerEvent(context, container, 'exec_create', attributes);
  await recordContainerEvent(context, container, 'exec_start', attributes);
  const exitCode = await runProcess(context, container, options, output);
  await recordContainerEvent(context, container, 'exec_die', { ...attributes, exitCode: String(exitCode) });
  return exitCode;
}

/** Runs a process in a running container; resolves with its exit code. */
export async function runProcess(context: RuntimeContext, container: Container, options: ExecOptions, output: ExecOutput, signal?: AbortSignal): Promise<number> {
  if (options.cmd.length === 0) throw invalidArgument('exec needs a command');
  const paths = containerPaths(context.stateDir, container.id);
  const config = JSON.parse(await readFile(paths.config, 'utf8')) as { process: Record<string, unknown> & { env: string[]; user: unknown; cwd: string } };
  const user = options.user === '' ? config.process.user : await resolveUser(paths.overlay.merged, options.user);
  const process = {
    ...config.process,
    terminal: options.tty ?? false,
    args: options.cmd,
    env: [...config.process.env, ...options.env],
    cwd: options.workingDir || config.process.cwd,
    user,
    ...(options.privileged ? { capabilities: undefined } : {}),
  };
  // Short, because conmon's attach socket lives here and socket paths are limited to 108 bytes.
  const dir = join(context.stateDir, 'execs', randomBytes(6).toString('hex'));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const processFile = join(dir, 'process.json');
  await writeFile(processFile, JSON.stringify(process));
  try {
    return options.tty ? await runWithTerminal(context, container, dir, processFile, options, output) : await runPiped(context, container, processFile, options, output, signal);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `runtime exec` as a child of the agent, its stdio as pipes. */
async function runPiped(context: RuntimeContext, container: Container, processFile: string, options: ExecOptions, output: ExecOutput, signal?: AbortSignal): Promise<number> {
  const child = context.runtime.exec(container.id, processFile);
  const onAbort = () => child.kill('SIGKILL');
  signal?.addEventListener('abort', onAbort);
  let runtimeError = '';
  child.stdout!.on('data', (chunk: Buffer) => output.stdout(chunk));
  child.stderr!.on('data', (chunk: Buffer) => {
    // runc's own failures arrive on the same stream as the process's errors, as log lines.
    const text = chunk.toString();
    if (/level=error|exec failed/.test(text)) runtimeError += text;
    else output.stderr(chunk);
  });
  child.stdin!.on('error', () => undefined);
  if (options.input === undefined) child.stdin!.end();
  else void forwardStdin(options.input, child.stdin!);
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode, exitSignal) => resolve(exitCode ?? 128 + (exitSignal === 'SIGKILL' ? 9 : 15)));
  });
  signal?.removeEventListener('abort', onAbort);
  if (runtimeError === '') return code;
  const failure = /executable file not found|no such file or directory/.test(runtimeError) ? NOT_FOUND : /permission denied/.test(runtimeError) ? NOT_EXECUTABLE : undefined;
  output.stderr(Buffer.from(failure === undefined ? runtimeError : `${runtimeMessage(runtimeError)}\n`));
  return failure ?? code;
}

/** Through conmon, attached before the process starts, so that its terminal's first bytes arrive too. */
async function runWithTerminal(context: RuntimeContext, container: Container, dir: string, processFile: string, options: ExecOptions, output: ExecOutput): Promise<number> {
  let connection: AttachConnection | undefined;
  try {
    const exec = await execWithConmon(
      { conmon: context.conmon, runtime: container.spec.runtime, runtimeArgs: context.runtime.globalArgs, id: container.id, bundle: dir, processFile, stdin: options.input !== undefined, tty: true },
      async () => {
        connection = await AttachConnection.connect(join(dir, 'attach'), output);
      },
    );
    if (options.input !== undefined) void forwardAttachInput(options.input, connection!, dir);
    const exitCode = await exec.exited;
    await Promise.race([connection!.ended, new Promise((resolve) => setTimeout(resolve, 200))]);
    return exitCode;
  } catch (err) {
    const message = (err as Error).message;
    if (/executable file not found|no such file or directory/.test(message)) {
      output.stderr(Buffer.from(`${message}\n`));
      return NOT_FOUND;
    }
    throw err;
  } finally {
    connection?.close();
  }
}

async function forwardStdin(input: AsyncIterable<AttachInput>, stdin: Writable): Promise<void> {
  try {
    for await (const message of input) {
      if (message.kind === 'stdin') stdin.write(message.data);
      else if (message.kind === 'close-stdin') break;
    }
  } catch {
    // The client went away: the process sees the end of its input.
  }
  stdin.end();
}

function runtimeMessage(text: string): string {
  return /msg="?(.*?)"?$/m.exec(text.trim())?.[1] ?? text.trim();
}

async function recordContainerEvent(context: RuntimeContext, container: Container, action: 'exec_create' | 'exec_start' | 'exec_die', attributes: Record<string, string>): Promise<void> {
  await context.db.transaction((client) => recordEvent(context, client, container, action, attributes));
}
