import type { BerthClient } from '../../../client';
import { dockerContainer } from '../../../libs/docker';
import { invalidArgument, messageOf } from '../../../libs/errors';
import { runtime } from '../../../libs/proto';
import { API_VERSION, filters, flag, sendJson, sendNoContent, unixTime, type Router } from '../http/router';
import { outputChunk, startStream } from '../http/raw-stream';
import { clientGone } from '../http/transfer';
import { createRequestOf, type DockerCreateBody } from './create-body';

/** /containers/...: Docker's container verbs over the runtime-agent's RuntimeService (start is in streams.ts). */
export function containerRoutes(router: Router, berth: BerthClient): void {
  const { runtime: agent } = berth;

  router.on('GET', '/containers/json', async ({ query, response }) => {
    const { containers } = await agent.call('list', { all: flag(query, 'all'), filters: filters(query) });
    sendJson(response, 200, containers.map(containerSummary));
  });

  router.on('POST', '/containers/create', async ({ query, json, response }) => {
    const request = createRequestOf(query.get('name') ?? '', query.get('platform') ?? '', await json<DockerCreateBody>());
    const { id, warnings } = await agent.call('create', request);
    sendJson(response, 201, { Id: id, Warnings: warnings });
  });

  router.on('GET', '/containers/{id}/json', async ({ params, response }) => {
    const { container } = await agent.call('inspect', { container: params.id! });
    // Docker's own Node is an object (Swarm's), which its clients decode: Berth's node goes in it.
    sendJson(response, 200, { ...dockerContainer(container!), Node: { ID: container!.node, Name: container!.node } });
  });

  router.on('POST', '/containers/{id}/stop', async ({ params, query, response }) => {
    // A stop waits up to its timeout for the process to end: longer than a call's usual deadline.
    await agent.call('stop', { container: params.id!, timeout: seconds(query.get('t')), signal: query.get('signal') ?? '' }, { deadline: farFuture() });
    sendNoContent(response);
  });

  router.on('POST', '/containers/{id}/restart', async ({ params, query, response }) => {
    await agent.call('restart', { container: params.id!, timeout: seconds(query.get('t')) });
    sendNoContent(response);
  });

  router.on('POST', '/containers/{id}/kill', async ({ params, query, response }) => {
    await agent.call('kill', { container: params.id!, signal: query.get('signal') ?? '' });
    sendNoContent(response);
  });

  router.on('POST', '/containers/{id}/pause', async ({ params, response }) => {
    await agent.call('pause', { container: params.id! });
    sendNoContent(response);
  });

  router.on('POST', '/containers/{id}/unpause', async ({ params, response }) => {
    await agent.call('unpause', { container: params.id! });
    sendNoContent(response);
  });

  router.on('POST', '/containers/{id}/rename', async ({ params, query, response }) => {
    await agent.call('rename', { container: params.id!, name: query.get('name') ?? '' });
    sendNoContent(response);
  });

  router.on('DELETE', '/containers/{id}', async ({ params, query, response }) => {
    await agent.call('remove', { container: params.id!, force: flag(query, 'force'), volumes: flag(query, 'v') });
    sendNoContent(response);
  });

  router.on('POST', '/containers/{id}/wait', async ({ params, query, response }) => {
    const condition = waitCondition(query.get('condition'));
    const { container } = await agent.call('inspect', { container: params.id! });
    // docker run asks before it starts the container and goes on once the headers come: they come
    // now, as Docker's do, and the body when the container exits, however long that takes.
    response.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION });
    response.flushHeaders();
    const body = await agent.call('wait', { container: container!.id, condition }, { deadline: farFuture() }).then(
      ({ exitCode, error }) => ({ StatusCode: exitCode, Error: error === '' ? null : { Message: error } }),
      (err: unknown) => ({ StatusCode: -1, Error: { Message: messageOf(err) } }),
    );
    response.end(JSON.stringify(body));
  });

  router.on('GET', '/containers/{id}/logs', async ({ params, query, response }) => {
    const stdout = flag(query, 'stdout');
    const stderr = flag(query, 'stderr');
    if (!stdout && !stderr) throw invalidArgument('you must choose at least one stream');
    const { container } = await agent.call('inspect', { container: params.id! });
    const tty = container!.config!.tty;
    const tail = query.get('tail') ?? 'all';
    // Docker takes "all", or a number of lines where a negative one is all of them too.
    const count = tail === 'all' || tail === '' ? -1 : Number(tail);
    if (!Number.isInteger(count)) throw invalidArgument(`invalid tail "${tail}": a number of lines or "all"`);
    const lines = Math.max(count, 0);
    // Docker's tail=0 is no lines of the past, where Berth's 0 is all of them: only what comes from now.
    const since = count === 0 ? new Date() : unixTime(query.get('since'));
    const request = runtime.LogsRequest.fromPartial({
      container: params.id!,
      follow: flag(query, 'follow'),
      tail: lines,
      since,
      until: unixTime(query.get('until')),
      noStdout: !stdout,
      noStderr: !stderr,
    });
    startStream(response, tty);
    const timestamps = flag(query, 'timestamps');
    for await (const line of agent.stream('logs', request, { signal: clientGone(response) })) {
      const data = timestamps ? Buffer.concat([Buffer.from(`${line.time?.toISOString() ?? ''} `), Buffer.from(line.data)]) : Buffer.from(line.data);
      response.write(outputChunk(tty, line.stream === runtime.LogStream.LOG_STREAM_STDERR ? 2 : 1, data));
    }
    response.end();
  });

  router.on('GET', '/containers/{id}/top', async ({ params, query, response }) => {
    const psArgs = (query.get('ps_args') ?? '').split(/\s+/).filter(Boolean);
    const { titles, processes } = await agent.call('top', { container: params.id!, psArgs });
    sendJson(response, 200, { Titles: titles, Processes: processes.map((row) => row.values) });
  });

  router.on('GET', '/containers/{id}/changes', async ({ params, response }) => {
    const { changes } = await agent.call('diff', { container: params.id! });
    // Docker's kinds are numbers: 0 changed, 1 added, 2 deleted.
    sendJson(response, 200, changes.map((change) => ({ Path: change.path, Kind: { C: 0, A: 1, D: 2 }[change.kind] ?? 0 })));
  });

  router.on('POST', '/containers/prune', async ({ query, response }) => {
    const { deleted, spaceReclaimed } = await agent.call('prune', { filters: filters(query) });
    sendJson(response, 200, { ContainersDeleted: deleted, SpaceReclaimed: spaceReclaimed });
  });
}

/** A container as GET /containers/json lists it. */
function containerSummary(c: runtime.ContainerSummary): Record<string, unknown> {
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.image,
    ImageID: c.imageId,
    Command: c.command,
    Created: Math.floor((c.created?.getTime() ?? 0) / 1000),
    Ports: c.ports.map((p) => ({ PrivatePort: p.containerPort, Type: p.protocol || 'tcp', ...(p.hostPort > 0 ? { IP: p.hostIp || '0.0.0.0', PublicPort: p.hostPort } : {}) })),
    Labels: c.labels,
    State: c.state,
    Status: c.status,
    HostConfig: { NetworkMode: c.networks[0] ?? 'bridge' },
    NetworkSettings: { Networks: Object.fromEntries(c.networks.map((name) => [name, {}])) },
    Mounts: [],
  };
}

function seconds(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw invalidArgument(`invalid timeout "${value}"`);
  return parsed;
}

function waitCondition(value: string | null): runtime.WaitCondition {
  switch (value ?? 'not-running') {
    case 'not-running':
    case '':
      return runtime.WaitCondition.WAIT_CONDITION_UNSPECIFIED;
    case 'next-exit':
      return runtime.WaitCondition.WAIT_CONDITION_NEXT_EXIT;
    case 'removed':
      return runtime.WaitCondition.WAIT_CONDITION_REMOVED;
    default:
      throw invalidArgument(`invalid condition "${value}": not-running, next-exit or removed`);
  }
}

function farFuture(): Date {
  return new Date(Date.now() + 365 * 24 * 3600 * 1000);
}
