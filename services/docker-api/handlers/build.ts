import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import type { BerthClient } from '../../../client';
import { invalidArgument } from '../../../libs/errors';
import { fromServiceError } from '../../../libs/grpc';
import type { builder } from '../../../libs/proto';
import { familiarName } from '../../../libs/reference';
import { filters, flag, sendJson, type Router } from '../http/router';
import { clientGone, sendJsonMessages, tarBody, writeAll } from '../http/transfer';

/**
 * Build options of Docker's API that Berth's builder has no way to honour. Docker's clients send
 * most of them every time, empty or zero: only a value that asks for something is refused.
 */
const UNSUPPORTED_OPTIONS: Record<string, string> = {
  remote: 'building from a remote context (a URL)',
  squash: 'squashing the layers',
  pull: 'pulling newer base images (--pull)',
  extrahosts: 'extra hosts',
  securityopt: 'security options',
  cpushares: 'CPU shares',
  cpusetcpus: 'CPU sets',
  cpusetmems: 'memory nodes',
  cpuquota: 'a CPU quota',
  cpuperiod: 'a CPU period',
  memory: 'a memory limit',
  memswap: 'a swap limit',
  shmsize: 'a /dev/shm size',
  cgroupparent: 'a cgroup parent',
  isolation: 'isolation modes',
  ulimits: 'ulimits',
  cachefrom: 'cache images (--cache-from)',
  outputs: 'outputs',
  session: 'BuildKit sessions',
};

/** POST /build: a Dockerfile and its context as a tar, built by Berth's builder, with Docker's streamed JSON; and the cache's prune. */
export function buildRoutes(router: Router, berth: BerthClient): void {
  buildPruneRoute(router, berth);
  router.on('POST', '/build', async ({ request, query, response }) => {
    const options = buildOptions(query);
    const quiet = flag(query, 'q');
    const call: ClientDuplexStream<builder.BuildRequest, builder.BuildResponse> = berth.builder.client.build({ deadline: Infinity });
    clientGone(response).addEventListener('abort', () => call.cancel());
    const ended = new Promise<void>((resolve) => {
      call.once('end', resolve);
      call.once('error', () => resolve());
    });
    await sendJsonMessages(response, async (write) => {
      call.write({ options, context: Buffer.alloc(0), manifest: undefined });
      const sending = writeAll(call, tarBody(request), (context) => ({ options: undefined, context, manifest: undefined }), ended);
      sending.catch(() => call.cancel());
      try {
        for await (const message of call as AsyncIterable<builder.BuildResponse>) {
          for (const line of classicBuilderLines(message.event, quiet)) write(line);
        }
      } catch (err) {
        // A body that could not be read is the reason the builder was cancelled: say that one.
        await sending;
        throw fromServiceError(err as ServiceError, berth.builder.endpoint);
      }
      await sending;
    });
  });
}

/** POST /build/prune: the build cache, all of it or what was not used within filters' until. */
function buildPruneRoute(router: Router, berth: BerthClient): void {
  router.on('POST', '/build/prune', async ({ query, response }) => {
    if (query.getAll('keep-storage').some(asks)) throw invalidArgument("keeping some storage (keep-storage) is not supported by Berth's build cache: prune with an until filter");
    const given = filters(query);
    const unknown = Object.keys(given).filter((key) => key !== 'until');
    if (unknown.length > 0) throw invalidArgument(`build cache filter ${unknown.join(', ')} is not supported by Berth: only until`);
    const { deletedImages, spaceReclaimed } = await berth.builder.call('prune', { keepNewerThan: given.until?.values[0] ?? '' });
    sendJson(response, 200, { CachesDeleted: deletedImages, SpaceReclaimed: spaceReclaimed });
  });
}

/** Docker's build query as the builder's options; INVALID_ARGUMENT for what cannot be honoured. */
function buildOptions(query: URLSearchParams): builder.BuildOptions {
  for (const [name, what] of Object.entries(UNSUPPORTED_OPTIONS)) {
    if (query.getAll(name).some(asks)) throw invalidArgument(`${what} is not supported by Berth's builder`);
  }
  // rm (the default) removes a step's container when it ends: Berth's builder always does.
  const rm = query.get('rm');
  if (rm !== null && !flag(query, 'rm')) throw invalidArgument("keeping intermediate containers (--rm=false) is not supported by Berth's builder");
  if (query.get('version') === '2') throw invalidArgument('BuildKit (version 2) is not supported by Berth: build with the classic builder (DOCKER_BUILDKIT=0)');
  const network = query.get('networkmode') ?? '';
  return {
    dockerfile: query.get('dockerfile') ?? '',
    dockerfileContent: '',
    tags: query.getAll('t').filter((tag) => tag !== ''),
    buildArgs: Object.fromEntries(Object.entries(jsonMap(query, 'buildargs')).filter((entry): entry is [string, string] => entry[1] !== null)),
    target: query.get('target') ?? '',
    noCache: flag(query, 'nocache'),
    platform: query.get('platform') ?? '',
    labels: Object.fromEntries(Object.entries(jsonMap(query, 'labels')).map(([key, value]) => [key, value ?? ''])),
    network: network === 'default' ? '' : network,
    contextKey: '',
  };
}

/** A query value that asks for something: not empty, zero, false, null or an empty JSON list or map. */
function asks(value: string): boolean {
  return !['', '0', 'false', 'null', '[]', '{}'].includes(value);
}

/** A JSON map in the query (buildargs, labels); a null value is an ARG the client had no value for. */
function jsonMap(query: URLSearchParams, name: string): Record<string, string | null> {
  const text = query.get(name);
  if (text === null || text === '' || text === 'null') return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, string | null>;
  } catch {
    // Refused below.
  }
  throw invalidArgument(`${name} must be a JSON object of strings: ${text}`);
}

/**
 * What Docker's classic builder says of a build's event: "Step 1/3 : FROM busybox", a RUN's output,
 * " ---> Using cache", and at the end the image id (as aux, which clients read for -q and --iidfile)
 * with "Successfully built" and "Successfully tagged" lines. Quiet, only the id.
 */
function classicBuilderLines(event: builder.BuildResponse['event'], quiet: boolean): Array<Record<string, unknown>> {
  if (event?.$case === 'result') {
    const { imageId, tags } = event.value;
    const aux = { aux: { ID: imageId } };
    if (quiet) return [aux, { stream: `${imageId}\n` }];
    return [aux, { stream: `Successfully built ${imageId.replace(/^sha256:/, '').slice(0, 12)}\n` }, ...tags.map((tag) => ({ stream: `Successfully tagged ${familiarName(tag)}\n` }))];
  }
  if (quiet) return [];
  switch (event?.$case) {
    case 'stepStarted':
      return [{ stream: `Step ${event.value.step}/${event.value.total} : ${event.value.instruction}\n` }];
    case 'output':
      return [{ stream: Buffer.from(event.value.data).toString('utf8') }];
    case 'stepFinished':
      return event.value.cached ? [{ stream: ' ---> Using cache\n' }] : [];
    default:
      return [];
  }
}
