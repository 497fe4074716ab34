import { AttachConnection, attachSocketPath, resizeTerminal, type AttachOutput } from '../oci';
import type { RuntimeContext } from './context';
import { findLocalContainer, requireState } from './lookup';
import { containerPaths } from './paths';
import { startContainer } from './start';
import { untilNotRunning, waitForContainer } from './wait';

/** What an attached client sends: bytes for stdin, its end, or its terminal's new size. */
export type AttachInput = { kind: 'stdin'; data: Buffer } | { kind: 'close-stdin' } | { kind: 'resize'; rows: number; cols: number };

/** Output that arrives after the exit is recorded still has a moment to be read. */
const DRAIN_MS = 200;

/**
 * `docker attach` (and `run -it`, `start -ai`): the container's stdio through conmon's attach
 * socket. With start, the container is started once attached, so no output is missed. Resolves
 * with the exit code once the container has stopped.
 */
export async function attachContainer(
  context: RuntimeContext,
  text: string,
  options: { start: boolean; input?: AsyncIterable<AttachInput>; signal?: AbortSignal },
  output: AttachOutput,
): Promise<number> {
  const container = await findLocalContainer(context, text);
  const bundle = containerPaths(context.stateDir, container.id).dir;
  let connection: AttachConnection | undefined;
  const connect = async () => {
    connection = await AttachConnection.connect(attachSocketPath(context.attachDir, container.id), output);
  };
  try {
    if (options.start && container.state !== 'running') await startContainer(context, container.id, connect);
    else {
      requireState(container, 'attach to', ['running', 'paused']);
      await connect();
    }
    const attached = connection!;
    if (options.input !== undefined) void forwardAttachInput(options.input, attached, bundle);
    const onAbort = () => attached.close();
    options.signal?.addEventListener('abort', onAbort);
    await Promise.race([attached.ended, untilNotRunning(context, container.id).then(() => new Promise((resolve) => setTimeout(resolve, DRAIN_MS)))]);
    options.signal?.removeEventListener('abort', onAbort);
    return (await waitForContainer(context, container.id, 'not-running', options.signal)).exitCode;
  } finally {
    connection?.close();
  }
}

/** Feeds an attached client's input to conmon: stdin, its end, and terminal sizes. */
export async function forwardAttachInput(input: AsyncIterable<AttachInput>, connection: AttachConnection, bundle: string): Promise<void> {
  try {
    for await (const message of input) {
      if (message.kind === 'stdin') await connection.write(message.data);
      else if (message.kind === 'close-stdin') connection.closeStdin();
      else await resizeTerminal(bundle, message.rows, message.cols);
    }
  } catch {
    // The client went away; the container keeps running, as after a detach.
  }
}
