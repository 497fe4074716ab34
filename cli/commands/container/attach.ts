import type { ServiceError } from '@grpc/grpc-js';
import { invalidArgument, unavailable } from '../../../libs/errors';
import { fromServiceError } from '../../../libs/grpc';
import type { runtime } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { runtimeAgent } from '../../client';

type Agent = ReturnType<typeof runtimeAgent>;

/** `berth attach [--no-stdin] CONTAINER`: the container's output here, this terminal's input there. */
export async function attach(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { 'no-stdin': { type: 'boolean', default: false, description: 'Do not attach STDIN, even if the container keeps it open' } }, 'attach');
  if (positionals.length !== 1) throw invalidArgument('attach: give one container');
  const agent = runtimeAgent();
  try {
    const detail = await agent.call<runtime.InspectResponse>((m, o, cb) => agent.client.inspect({ container: positionals[0]! }, m, o, cb));
    const config = detail.container!.config!;
    return await attachStreams(agent, positionals[0]!, { start: false, stdin: config.openStdin && !values['no-stdin'], tty: config.tty });
  } finally {
    agent.close();
  }
}

/**
 * Streams a container's output to this process and (with stdin) this process's input to it,
 * starting it first when asked; with a tty the terminal is raw and its size follows this one's.
 * Resolves with the container's exit code.
 */
export async function attachStreams(agent: Agent, container: string, options: { start: boolean; stdin: boolean; tty: boolean }): Promise<number> {
  const call = agent.client.attach(agent.metadata(), { deadline: Infinity });
  call.write({ message: { $case: 'start', value: { container, start: options.start } } });
  return relayTerminal(call, agent.endpoint, options);
}

/** The messages attach and exec have in common, each way. */
type InputMessage = { $case: 'stdin'; value: Buffer } | { $case: 'closeStdin'; value: boolean } | { $case: 'resize'; value: { rows: number; cols: number } };
/** What relayTerminal needs of an attach or exec call (method syntax: either call's requests fit). */
interface TerminalCall extends AsyncIterable<unknown> {
  write(request: { message: InputMessage }): boolean;
  end(): void;
}
type OutputMessage = { $case: 'stdout'; value: Buffer } | { $case: 'stderr'; value: Buffer } | { $case: 'exitCode'; value: number } | { $case: 'id'; value: string };

/**
 * Relays an attach or exec call once its first message is sent: output here, this process's input
 * and terminal size there (raw mode with a tty). Resolves with the exit code, the last message.
 */
export async function relayTerminal(
  call: TerminalCall,
  endpoint: string,
  options: { stdin: boolean; tty: boolean },
): Promise<number> {
  const send = (message: InputMessage) => call.write({ message });
  const raw = options.tty && process.stdin.isTTY;
  const sendSize = () => send({ $case: 'resize', value: { rows: process.stdout.rows ?? 24, cols: process.stdout.columns ?? 80 } });
  if (raw) process.stdin.setRawMode(true);
  if (options.tty && process.stdout.isTTY) process.stdout.on('resize', sendSize);
  if (options.stdin) {
    process.stdin.on('data', (chunk: Buffer) => send({ $case: 'stdin', value: chunk }));
    process.stdin.once('end', () => send({ $case: 'closeStdin', value: true }));
  }
  let exitCode: number | undefined;
  let sizeSent = false;
  try {
    for await (const response of call as AsyncIterable<{ message?: OutputMessage }>) {
      // The terminal exists once the process does: the first output says it does.
      if (options.tty && process.stdout.isTTY && !sizeSent) {
        sizeSent = true;
        sendSize();
      }
      const message = response.message;
      if (message?.$case === 'stdout') process.stdout.write(message.value);
      else if (message?.$case === 'stderr') process.stderr.write(message.value);
      else if (message?.$case === 'exitCode') exitCode = message.value;
    }
  } catch (err) {
    throw fromServiceError(err as ServiceError, endpoint);
  } finally {
    if (raw) process.stdin.setRawMode(false);
    process.stdout.off('resize', sendSize);
    process.stdin.pause();
    call.end();
  }
  // A stream that ended without the exit code says nothing of how the process ended: never 0 by default.
  if (exitCode === undefined) throw unavailable(`${endpoint} ended the stream before the process's exit code`);
  return exitCode;
}
