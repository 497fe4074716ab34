import { invalidArgument, isBerthError, messageOf } from '../../../libs/errors';
import type { imagestore, runtime } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { imageStore, runtimeAgent } from '../../client';
import { printInspected } from '../../output';
import { dockerContainer } from '../../../libs/docker';
import { inspectedImage } from '../image/inspect';

/** `berth container inspect [-f FORMAT] CONTAINER...`: Docker's JSON shape. */
export async function inspectContainers(args: string[]): Promise<number> {
  return inspectAny(args, false);
}

/** `berth inspect [-f FORMAT] NAME...`: a container, else an image, by that name. */
export async function inspect(args: string[]): Promise<number> {
  return inspectAny(args, true);
}

async function inspectAny(args: string[], orImage: boolean): Promise<number> {
  const { values, positionals } = parseFlags(args, { format: { type: 'string', short: 'f', value: 'TEMPLATE', description: 'Print each result through a Go template ({{.Field}} or {{json .Field}}) instead of JSON' } }, 'inspect');
  if (positionals.length === 0) throw invalidArgument('inspect: give at least one container');
  const agent = runtimeAgent();
  const found: unknown[] = [];
  let failed = false;
  try {
    for (const name of positionals) {
      try {
        found.push(await inspectOne(agent, name, orImage));
      } catch (err) {
        process.stderr.write(`berth: ${messageOf(err)}\n`);
        failed = true;
      }
    }
  } finally {
    agent.close();
  }
  printInspected(found, values.format);
  return failed ? 1 : 0;
}

async function inspectOne(agent: ReturnType<typeof runtimeAgent>, name: string, orImage: boolean): Promise<unknown> {
  try {
    const response = await agent.call<runtime.InspectResponse>((m, o, cb) => agent.client.inspect({ container: name }, m, o, cb));
    return dockerContainer(response.container!);
  } catch (err) {
    if (!orImage || !isBerthError(err, 'not_found')) throw err;
  }
  const store = imageStore(agent.config);
  try {
    const response = await store.call<imagestore.InspectResponse>((m, o, cb) => store.client.inspect({ image: name }, m, o, cb));
    return inspectedImage(response.image!);
  } catch (err) {
    if (isBerthError(err, 'not_found')) throw invalidArgument(`no such object: ${name}`);
    throw err;
  } finally {
    store.close();
  }
}
