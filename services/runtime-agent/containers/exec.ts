import { randomBytes } from 'node:crypto';
import { readFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
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
  /** The process's standard input; none closes it at once. */
  stdin?: Readable;
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

/** Runs a process in a running container through `runc exec`; resolves with its exit code. */
export async function runProcess(context: RuntimeContext, container: Container, options: ExecOptions, output: ExecOutput, signal?: AbortSignal): Promise<number> {
  if (options.cmd.length === 0) throw new Error('exec needs a command');
  const paths = containerPaths(context.stateDir, container.id);
  const config = JSON.parse(await readFile(paths.config, 'utf8')) as { process: Record<string, unknown> & { env: string[]; user: unknown; cwd: string } };
  const user = options.user === '' ? config.process.user : await resolveUser(paths.overlay.merged, options.user);
  const process = {
    ...config.process,
    terminal: false,
    args: options.cmd,
    env: [...config.process.env, ...options.env],
    cwd: options.workingDir || config.process.cwd,
    user,
    ...(options.privileged ? { capabilities: undefined } : {}),
  };
  await mkdir(paths.execs, { recursive: true });
  const processFile = join(paths.execs, `${randomBytes(8).toString('hex')}.json`);
  await writeFile(processFile, JSON.stringify(process));
  try {
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
    if (options.stdin !== undefined) options.stdin.pipe(child.stdin!);
    else child.stdin!.end();
    child.stdin!.on('error', () => undefined);
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode, exitSignal) => resolve(exitCode ?? 128 + (exitSignal === 'SIGKILL' ? 9 : 15)));
    });
    signal?.removeEventListener('abort', onAbort);
    if (runtimeError !== '') {
      if (/executable file not found|no such file or directory/.test(runtimeError)) {
        output.stderr(Buffer.from(`${runtimeMessage(runtimeError)}\n`));
        return NOT_FOUND;
      }
      if (/permission denied/.test(runtimeError)) {
        output.stderr(Buffer.from(`${runtimeMessage(runtimeError)}\n`));
        return NOT_EXECUTABLE;
      }
      output.stderr(Buffer.from(runtimeError));
    }
    return code;
  } finally {
    await rm(processFile, { force: true });
  }
}

function runtimeMessage(text: string): string {
  return /msg="?(.*?)"?$/m.exec(text.trim())?.[1] ?? text.trim();
}

async function recordContainerEvent(context: RuntimeContext, container: Container, action: 'exec_create' | 'exec_start' | 'exec_die', attributes: Record<string, string>): Promise<void> {
  await context.db.transaction((client) => recordEvent(context, client, container, action, attributes));
}
