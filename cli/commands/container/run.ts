import { isBerthError, messageOf } from '../../../libs/errors';
import { runtime } from '../../../libs/proto';
import { parseFlagsThenCommand } from '../../args';
import { runtimeAgent } from '../../client';
import { pull } from '../image/pull';
import { CREATE_FLAGS, createRequest } from './create-flags';
import { attachStreams } from './attach';

type Agent = ReturnType<typeof runtimeAgent>;

/** Docker's exit codes for a run that failed before the container's own code could count. */
const DAEMON_ERROR = 125;

/** `berth create [OPTIONS] IMAGE [COMMAND] [ARG...]`: prints the new container's id. */
export async function create(args: string[]): Promise<number> {
  const { values, positionals } = parseFlagsThenCommand(args, CREATE_FLAGS, 'create');
  const agent = runtimeAgent();
  try {
    const created = await createPulling(agent, createRequest(values, positionals));
    process.stdout.write(`${created.id}\n`);
    return 0;
  } finally {
    agent.close();
  }
}

/**
 * `berth run [OPTIONS] IMAGE [COMMAND] [ARG...]`: create, then (unless -d) attach and start, so
 * that the output streams from its first byte, and exit with the container's exit code. Without a
 * terminal, Ctrl-C and SIGTERM are passed on to the container.
 */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseFlagsThenCommand(args, { ...CREATE_FLAGS, detach: { type: 'boolean', short: 'd', description: 'Run the container in the background and print its id' } }, 'run');
  const request = createRequest(values, positionals);
  const agent = runtimeAgent();
  try {
    let id: string;
    try {
      id = (await createPulling(agent, request)).id;
    } catch (err) {
      process.stderr.write(`berth: ${messageOf(err)}\n`);
      return DAEMON_ERROR;
    }
    if (values.detach) {
      try {
        await agent.call((m, o, cb) => agent.client.start({ container: id }, m, o, cb));
      } catch (err) {
        process.stderr.write(`berth: ${messageOf(err)}\n`);
        return await startFailureCode(agent, id);
      }
      process.stdout.write(`${id}\n`);
      return 0;
    }
    const forward = (signal: NodeJS.Signals) => void agent.call((m, o, cb) => agent.client.kill({ container: id, signal }, m, o, cb)).catch(() => undefined);
    // With a terminal, Ctrl-C is a byte for the container's terminal, not a signal here.
    if (!values.tty) process.on('SIGINT', forward).on('SIGTERM', forward);
    try {
      const code = await attachStreams(agent, id, { start: true, stdin: values.interactive ?? false, tty: values.tty ?? false });
      if (values.rm) await untilRemoved(agent, id);
      return code;
    } catch (err) {
      if (!isBerthError(err, 'failed_precondition')) throw err;
      process.stderr.write(`berth: ${messageOf(err)}\n`);
      return await startFailureCode(agent, id);
    }
  } finally {
    agent.close();
  }
}

/** With --rm, Docker's run returns once the container is gone (its name free, its network left). */
async function untilRemoved(agent: Agent, id: string): Promise<void> {
  try {
    await agent.call((m, o, cb) => agent.client.wait({ container: id, condition: runtime.WaitCondition.WAIT_CONDITION_REMOVED }, m, o, cb));
  } catch (err) {
    if (!isBerthError(err, 'not_found')) throw err;
  }
}

/** Creates the container; an image that is not here yet is pulled first, as Docker does. */
async function createPulling(agent: Agent, request: runtime.CreateRequest): Promise<runtime.CreateResponse> {
  const create = () => agent.call<runtime.CreateResponse>((m, o, cb) => agent.client.create(request, m, o, cb));
  try {
    return await create();
  } catch (err) {
    if (!isBerthError(err, 'not_found') || !/image/i.test(err.message)) throw err;
    const image = request.config!.image;
    process.stderr.write(`Unable to find image '${image}' locally\n`);
    const pulled = await pull([...(request.platform ? ['--platform', request.platform] : []), image]);
    if (pulled !== 0) throw err;
    return create();
  }
}

/** 126 or 127 when the command could not be run (as the container records it), else Docker's 125. */
async function startFailureCode(agent: Agent, id: string): Promise<number> {
  const detail = await agent.call<runtime.InspectResponse>((m, o, cb) => agent.client.inspect({ container: id }, m, o, cb)).catch(() => undefined);
  const code = detail?.container?.state?.exitCode ?? 0;
  return code === 126 || code === 127 ? code : DAEMON_ERROR;
}
