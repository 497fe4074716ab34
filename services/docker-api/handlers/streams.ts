import { randomBytes } from 'node:crypto';
import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { Writable, type Readable } from 'node:stream';
import type { BerthClient } from '../../../client';
import { fromServiceError } from '../../../libs/grpc';
import { failedPrecondition, invalidArgument, notFound } from '../../../libs/errors';
import type { runtime } from '../../../libs/proto';
import { outputChunk, takeOver } from '../http/raw-stream';
import { flag, sendJson, sendNoContent, type Router } from '../http/router';

/** Docker's exec records: made by create, run by start, read by inspect. Kept in memory, as Docker's are. */
interface ExecRecord {
  id: string;
  containerId: string;
  start: runtime.ExecStart;
  /** The streams the client attaches to (stdin is start.stdin). */
  attach: { stdout: boolean; stderr: boolean };
  running: boolean;
  exitCode: number | null;
  call?: ClientDuplexStream<runtime.ExecRequest, runtime.ExecResponse>;
}

type AttachStream = ClientDuplexStream<runtime.AttachRequest, runtime.AttachResponse>;

/**
 * Resolves once the container behind an attach-with-start has left "created" (or the stream has
 * output or has ended well); rejects with the agent's error when the start failed.
 */
async function startedThrough(stream: AttachStream, started: () => Promise<boolean>): Promise<void> {
  let failure: unknown;
  let settled = false;
  stream.once('error', (err: ServiceError) => (failure = fromServiceError(err, 'runtime-agent')));
  stream.once('data', () => (settled = true));
  stream.once('end', () => (settled = true));
  for (;;) {
    if (failure !== undefined) throw failure;
    if (settled || (await started())) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What relay needs of an attach or exec call: both take stdin and give output the same way. */
interface ProcessStream {
  write(request: { message: { $case: 'stdin'; value: Buffer } | { $case: 'closeStdin'; value: boolean } }): boolean;
  cancel(): void;
  on(event: 'data', listener: (response: { message?: Output }) => void): unknown;
  once(event: 'end' | 'error', listener: () => void): unknown;
}

/** A message of the attach or exec stream, as ts-proto gives oneofs. */
type Output = { $case: 'stdout' | 'stderr'; value: Uint8Array } | { $case: 'exitCode'; value: number } | { $case: 'id'; value: string } | undefined;

/** Attach, start and exec: the streams that take over their connection, over the agent's bidirectional RPCs. */
export function streamRoutes(router: Router, berth: BerthClient): void {
  const { runtime: agent } = berth;
  const execs = new Map<string, ExecRecord>();

  /**
   * Clients attached to a container that was not started yet (docker run attaches, then starts): the
   * start opens the agent's attach with start, so that the first byte of output reaches them.
   */
  const waitingForStart = new Map<string, (stream: AttachStream) => void>();
  const openAttach = (container: string, start: boolean): AttachStream => {
    const stream = agent.client.attach({ deadline: Infinity });
    stream.write({ message: { $case: 'start', value: { container, start } } });
    return stream;
  };

  router.onUpgrade('POST', '/containers/{id}/attach', async (call) => {
    const { container } = await agent.call('inspect', { container: call.params.id! });
    const { id, config, state } = container!;
    if (!flag(call.query, 'stream')) throw invalidArgument('attach: only stream=1 is supported (logs=1 alone: use the logs endpoint)');
    if (state!.status === 'created' && waitingForStart.has(id)) throw failedPrecondition(`container ${id} already has a client waiting to attach at its start`);
    const { output, input } = takeOver(call, config!.tty);
    const stream =
      state!.status === 'created'
        ? await new Promise<AttachStream>((resolve) => {
            waitingForStart.set(id, resolve);
            output.once('close', () => waitingForStart.delete(id));
          })
        : openAttach(id, false);
    await relay(stream, output, flag(call.query, 'stdin') && config!.openStdin ? input : undefined, config!.tty, { stdout: flag(call.query, 'stdout'), stderr: flag(call.query, 'stderr') });
  });

  router.on('POST', '/containers/{id}/start', async ({ params, response }) => {
    const { container } = await agent.call('inspect', { container: params.id! });
    const attach = waitingForStart.get(container!.id);
    if (attach === undefined) {
      await agent.call('start', { container: container!.id });
      return sendNoContent(response);
    }
    waitingForStart.delete(container!.id);
    const stream = openAttach(container!.id, true);
    attach(stream);
    await startedThrough(stream, () => agent.call('inspect', { container: container!.id }).then((found) => found.container!.state!.status !== 'created'));
    sendNoContent(response);
  });

  router.on('POST', '/containers/{id}/exec', async ({ params, json, response }) => {
    const body = await json<{ AttachStdin?: boolean; AttachStdout?: boolean; AttachStderr?: boolean; Tty?: boolean; Cmd?: string[]; Env?: string[] | null; User?: string; WorkingDir?: string; Privileged?: boolean }>();
    if (body.Cmd === undefined || body.Cmd.length === 0) throw invalidArgument('No exec command specified');
    const { container } = await agent.call('inspect', { container: params.id! });
    if (container!.state!.status !== 'running') throw failedPrecondition(`Container ${container!.id} is not running`);
    const id = randomBytes(32).toString('hex');
    execs.set(id, {
      id,
      containerId: container!.id,
      start: { container: container!.id, cmd: body.Cmd, env: body.Env ?? [], user: body.User ?? '', workingDir: body.WorkingDir ?? '', stdin: body.AttachStdin ?? false, privileged: body.Privileged ?? false, tty: body.Tty ?? false },
      attach: { stdout: body.AttachStdout ?? false, stderr: body.AttachStderr ?? false },
      running: false,
      exitCode: null,
    });
    sendJson(response, 201, { Id: id });
  });

  router.onUpgrade('POST', '/exec/{id}/start', async (call) => {
    const exec = execOf(execs, call.params.id!);
    const body = await call.json<{ Detach?: boolean; Tty?: boolean }>();
    if (exec.running || exec.exitCode !== null) throw failedPrecondition(`exec ${exec.id} has already run`);
    const stream = agent.client.exec({ deadline: Infinity });
    exec.call = stream;
    exec.running = true;
    stream.write({ message: { $case: 'start', value: exec.start } });
    const finished = (code: number | null) => {
      exec.running = false;
      exec.exitCode = code ?? 126;
      exec.call = undefined;
    };
    if (body.Detach) {
      // Nobody reads its output: only its exit code is kept, for inspect.
      void relay(stream, discard(), undefined, exec.start.tty, { stdout: false, stderr: false }).then(finished);
      stream.end();
      // Plain or upgraded, a detached start answers at once and keeps nothing open.
      if (call.response !== undefined) sendNoContent(call.response, 200);
      else call.socket!.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const { output, input } = takeOver(call, exec.start.tty);
    const code = await relay(stream, output, exec.start.stdin ? input : undefined, exec.start.tty, { stdout: exec.attach.stdout, stderr: exec.attach.stderr });
    finished(code);
  });

  router.on('GET', '/exec/{id}/json', async ({ params, response }) => {
    const exec = execOf(execs, params.id!);
    sendJson(response, 200, {
      ID: exec.id,
      Running: exec.running,
      ExitCode: exec.exitCode,
      ProcessConfig: { tty: exec.start.tty, entrypoint: exec.start.cmd[0], arguments: exec.start.cmd.slice(1), privileged: exec.start.privileged, user: exec.start.user },
      OpenStdin: exec.start.stdin,
      OpenStdout: exec.attach.stdout,
      OpenStderr: exec.attach.stderr,
      ContainerID: exec.containerId,
      Pid: 0,
    });
  });

  router.on('POST', '/exec/{id}/resize', async ({ params, query, response }) => {
    const exec = execOf(execs, params.id!);
    exec.call?.write({ message: { $case: 'resize', value: { rows: Number(query.get('h') ?? 24), cols: Number(query.get('w') ?? 80) } } });
    sendNoContent(response, 200);
  });
}

function execOf(execs: Map<string, ExecRecord>, id: string): ExecRecord {
  const exec = execs.get(id);
  if (exec === undefined) throw notFound(`No such exec instance: ${id}`);
  return exec;
}

/**
 * Copies an attach or exec stream to the client (frames unless a terminal) and the client's input
 * to it, until the process ends; the exit code, or null when the stream broke off.
 */
function relay(
  stream: ProcessStream,
  output: Writable,
  input: Readable | undefined,
  tty: boolean,
  wanted: { stdout: boolean; stderr: boolean },
): Promise<number | null> {
  return new Promise((resolve) => {
    let exitCode: number | null = null;
    if (input !== undefined) {
      input.on('data', (chunk: Buffer) => stream.write({ message: { $case: 'stdin', value: chunk } }));
      input.once('end', () => stream.write({ message: { $case: 'closeStdin', value: true } }));
    }
    // The client went away: so does the stream (an attach leaves the container running).
    output.once('close', () => stream.cancel());
    stream.on('data', (response: { message?: Output }) => {
      const message = response.message;
      if (message?.$case === 'stdout' && wanted.stdout) output.write(outputChunk(tty, 1, Buffer.from(message.value)));
      else if (message?.$case === 'stderr' && wanted.stderr) output.write(outputChunk(tty, 2, Buffer.from(message.value)));
      else if (message?.$case === 'exitCode') exitCode = message.value;
    });
    const done = () => {
      output.end();
      resolve(exitCode);
    };
    stream.once('end', done);
    stream.once('error', done);
  });
}

/** Where a detached exec's output goes: nowhere. */
function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}
