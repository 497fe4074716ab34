import { Readable } from 'node:stream';
import { invalidArgument, isBerthError } from '../../../libs/errors';
import { filterLists } from '../../../libs/filters';
import { isForwarded, openUpload, peekFirst, type CallContext } from '../../../libs/grpc';
import type { MethodDefinition } from '@grpc/grpc-js';
import { runtime } from '../../../libs/proto';
import type { ServiceContext } from '../../../libs/service';
import {
  attachContainer,
  commitContainer,
  containerLogs,
  copyFromContainer,
  copyToContainer,
  diffContainer,
  exportContainer,
  cpuPercent,
  createContainer,
  execInContainer,
  findContainer,
  findLocalContainer,
  killContainer,
  listContainers,
  pauseContainer,
  pruneContainers,
  readContainerStats,
  removeContainer,
  renameContainer,
  restartContainer,
  startContainer,
  stopContainer,
  topContainer,
  unpauseContainer,
  updateContainer,
  waitForContainer,
  type AttachInput,
  type Container,
  type RestartPolicyName,
  type RuntimeContext,
  type StatsReading,
  type WaitCondition,
} from '../containers';
import { toDetail, toLogResponse, toStats, toSummary } from './mapping';
import { placeContainer } from '../nodes/placement';
import type { NodeRouter } from '../nodes/router';

const STATS_INTERVAL_MS = 1_000;
const WAIT_CONDITIONS: Record<number, WaitCondition> = { 0: 'not-running', 1: 'next-exit', 2: 'removed' };

const methods = runtime.RuntimeServiceService;

/**
 * The RuntimeService RPCs: proto in, domain call, proto out. A call for a container on another node
 * is passed on to that node's agent (router); a create is placed first.
 */
export function runtimeHandlers(service: ServiceContext, context: RuntimeContext, router: NodeRouter): runtime.RuntimeServiceServer {
  const { rpc } = service;
  const routed = routedHandlers(rpc, router);
  return {
    info: rpc.unary(async () => ({ info: await service.describe() })),

    create: rpc.unary(async (request: runtime.CreateRequest, call) => {
      if (request.config === undefined || request.config.image === '') throw invalidArgument('name the image to create the container from');
      const hostConfig = request.hostConfig ?? runtime.HostConfig.fromPartial({});
      // A create another agent placed names this node, and is checked again here (it may have begun
      // to drain since); it keeps the reason that agent gave.
      const placement = await placeNewContainer(context, request, hostConfig);
      if (placement.node !== context.node) {
        const forwarder = await router.forwarderTo(placement.node);
        return forwarder.unary(methods.create, { ...request, node: placement.node, placementReason: placement.reason }, call);
      }
      const reason = isForwarded(call) ? request.placementReason : placement.reason;
      const container = await createContainer(context, { name: request.name, platform: request.platform, config: request.config, hostConfig, placement: reason });
      return { id: container.id, name: container.name, warnings: [] };
    }),

    start: routed.unary(methods.start, async (request: runtime.StartRequest) => {
      await startContainer(context, request.container);
      return {};
    }),

    stop: routed.unary(methods.stop, async (request: runtime.StopRequest) => {
      await stopContainer(context, request.container, { timeoutSeconds: request.timeout, signal: request.signal });
      return {};
    }),

    restart: routed.unary(methods.restart, async (request: runtime.RestartRequest) => {
      await restartContainer(context, request.container, request.timeout);
      return {};
    }),

    kill: routed.unary(methods.kill, async (request: runtime.KillRequest) => {
      await killContainer(context, request.container, request.signal);
      return {};
    }),

    pause: routed.unary(methods.pause, async (request: runtime.PauseRequest) => {
      await pauseContainer(context, request.container);
      return {};
    }),

    unpause: routed.unary(methods.unpause, async (request: runtime.UnpauseRequest) => {
      await unpauseContainer(context, request.container);
      return {};
    }),

    remove: routed.unary(methods.remove, async (request: runtime.RemoveRequest) => ({ id: (await removeContainer(context, request.container, { force: request.force, volumes: request.volumes })).id })),

    wait: routed.unary(methods.wait, async (request: runtime.WaitRequest, call) => {
      const condition = WAIT_CONDITIONS[request.condition];
      if (condition === undefined) throw invalidArgument(`unknown wait condition ${request.condition}`);
      const container = await waitForContainer(context, request.container, condition, call.signal);
      return { exitCode: container.exitCode, error: container.error };
    }),

    rename: routed.unary(methods.rename, async (request: runtime.RenameRequest) => {
      await renameContainer(context, request.container, request.name);
      return {};
    }),

    update: routed.unary(methods.update, async (request: runtime.UpdateRequest) => {
      const policy = request.restartPolicy && { name: (request.restartPolicy.name || 'no') as RestartPolicyName, maximumRetryCount: request.restartPolicy.maximumRetryCount };
      await updateContainer(context, request.container, request.resources, policy);
      return { warnings: [] };
    }),

    list: rpc.unary(async (request: runtime.ListRequest) => ({
      containers: await summaries(context, await listContainers(context, { all: request.all, filters: filterLists(request.filters) })),
    })),

    inspect: rpc.unary(async (request: runtime.InspectRequest, call) => {
      // null: the container's node is unreachable. Its record is still here to show, its state unknown (as ps shows it).
      const remote = await router.forwarderFor(request.container, call).catch((err: unknown) => {
        if (isBerthError(err, 'unavailable')) return null;
        throw err;
      });
      if (remote) return remote.unary(methods.inspect, request, call);
      const container = remote === null ? await findContainer(context, request.container) : await findLocalContainer(context, request.container);
      return { container: await detail(context, container, remote === null) };
    }),

    logs: routed.serverStream<runtime.LogsRequest, runtime.LogsResponse>(methods.logs, async (request, send, call) => {
      const lines = containerLogs(
        context,
        request.container,
        { follow: request.follow, tail: request.tail, since: request.since, until: request.until, stdout: !request.noStdout, stderr: !request.noStderr },
        call.signal,
      );
      for await (const line of lines) await send(toLogResponse(line));
    }),

    attach: rpc.bidiStream<runtime.AttachRequest, runtime.AttachResponse>(async (stream, send, call) => {
      const { first, messages } = await peekFirst(stream);
      const start = first?.message;
      if (start?.$case !== 'start') throw invalidArgument('the first attach message must name the container');
      const remote = await router.forwarderFor(start.value.container, call);
      if (remote !== undefined) return remote.bidiStream(methods.attach, messages, send, call);
      const iterator = messages[Symbol.asyncIterator]();
      await iterator.next(); // the start message, read above as first
      const output = inOrder((message: runtime.AttachResponse['message']) => send({ message }));
      const forward = output.push;
      const exitCode = await attachContainer(
        context,
        start.value.container,
        { start: start.value.start, input: clientInput(iterator), signal: call.signal },
        { stdout: (chunk) => forward({ $case: 'stdout', value: chunk }), stderr: (chunk) => forward({ $case: 'stderr', value: chunk }) },
      );
      await output.flushed();
      if (!call.signal.aborted) await send({ message: { $case: 'exitCode', value: exitCode } });
    }),

    exec: rpc.bidiStream<runtime.ExecRequest, runtime.ExecResponse>(async (stream, send, call) => {
      const { first, messages } = await peekFirst(stream);
      const start = first?.message;
      if (start?.$case !== 'start') throw invalidArgument('the first exec message must name the command');
      const remote = await router.forwarderFor(start.value.container, call);
      if (remote !== undefined) return remote.bidiStream(methods.exec, messages, send, call);
      const iterator = messages[Symbol.asyncIterator]();
      await iterator.next(); // the start message, read above as first
      const output = inOrder((message: runtime.ExecResponse['message']) => send({ message }));
      const forward = output.push;
      const exitCode = await execInContainer(
        context,
        start.value.container,
        {
          cmd: start.value.cmd,
          env: start.value.env,
          user: start.value.user,
          workingDir: start.value.workingDir,
          privileged: start.value.privileged,
          tty: start.value.tty,
          input: start.value.stdin || start.value.tty ? clientInput(iterator) : undefined,
        },
        { stdout: (chunk) => forward({ $case: 'stdout', value: chunk }), stderr: (chunk) => forward({ $case: 'stderr', value: chunk }) },
        (id) => forward({ $case: 'id', value: id }),
      );
      await output.flushed();
      if (!call.signal.aborted) await send({ message: { $case: 'exitCode', value: exitCode } });
    }),

    stats: routed.serverStream<runtime.StatsRequest, runtime.StatsResponse>(methods.stats, async (request, send, call) => {
      let previous: StatsReading | undefined;
      for (;;) {
        const container = await findLocalContainer(context, request.container);
        const reading = await readContainerStats(context, container);
        await send(toStats(container, reading, cpuPercent(previous, reading)));
        previous = reading;
        if (!request.stream) return;
        await new Promise((resolve) => setTimeout(resolve, STATS_INTERVAL_MS));
        if (call.signal.aborted) return;
      }
    }),

    top: routed.unary(methods.top, async (request: runtime.TopRequest) => {
      const { titles, processes } = await topContainer(context, request.container, request.psArgs);
      return { titles, processes: processes.map((values) => ({ values })) };
    }),

    diff: routed.unary(methods.diff, async (request: runtime.DiffRequest) => ({ changes: await diffContainer(context, request.container) })),

    commit: routed.unary(methods.commit, async (request: runtime.CommitRequest) => {
      const { image } = await commitContainer(context, request.container, {
        reference: request.reference,
        comment: request.comment,
        author: request.author,
        changes: request.changes,
        pause: !request.noPause,
        uncompressed: request.uncompressed,
        remove: request.remove,
      });
      return { imageId: image!.id };
    }),

    export: routed.serverStream<runtime.ExportRequest, runtime.ExportResponse>(methods.export, (request, send) => exportContainer(context, request.container, (data) => send({ data }))),

    copyFrom: routed.serverStream<runtime.CopyFromRequest, runtime.CopyFromResponse>(methods.copyFrom, (request, send) =>
      copyFromContainer(context, request.container, request.path, (data) => send({ data })),
    ),

    copyTo: rpc.clientStream(async (stream: AsyncIterable<runtime.CopyToRequest>, call) => {
      const { first, messages } = await peekFirst(stream);
      if (first === undefined || first.container === '' || first.path === '') throw invalidArgument('the first message must name the container and the directory');
      const remote = await router.forwarderFor(first.container, call);
      if (remote !== undefined) return remote.clientStream(methods.copyTo, messages, call);
      const { data } = await openUpload(messages);
      await copyToContainer(context, first.container, first.path, Readable.from(data));
      return {};
    }),

    prune: rpc.unary(async (request: runtime.PruneRequest) => pruneContainers(context, filterLists(request.filters))),

    imageUsage: rpc.unary(async (request: runtime.ImageUsageRequest) => ({ containers: await context.repository.countUsingImage(request.imageId) })),
  };
}

type Rpc = ServiceContext['rpc'];

/** Handlers for calls that name a container, answered here or passed on to the container's node. */
function routedHandlers(rpc: Rpc, router: NodeRouter) {
  return {
    unary<Req extends { container: string }, Res>(method: MethodDefinition<Req, Res>, local: (request: Req, call: CallContext) => Promise<Res>) {
      return rpc.unary(async (request: Req, call: CallContext) => {
        const remote = await router.forwarderFor(request.container, call);
        return remote === undefined ? local(request, call) : remote.unary(method, request, call);
      });
    },
    serverStream<Req extends { container: string }, Res>(
      method: MethodDefinition<Req, Res>,
      local: (request: Req, send: (message: Res) => Promise<void>, call: CallContext) => Promise<void>,
    ) {
      return rpc.serverStream(async (request: Req, send: (message: Res) => Promise<void>, call: CallContext) => {
        const remote = await router.forwarderFor(request.container, call);
        return remote === undefined ? local(request, send, call) : remote.serverStream(method, request, send, call);
      });
    },
  };
}

/** Where a new container goes: the request's node, its volumes' node, or the least loaded one. */
async function placeNewContainer(context: RuntimeContext, request: runtime.CreateRequest, hostConfig: runtime.HostConfig) {
  const volumes = hostConfig.mounts.filter((mount) => mount.type === 'volume' && mount.source !== '').map((mount) => mount.source);
  return placeContainer(await context.nodes.list(), { node: request.node, constraints: request.constraints, volumes }, (names) => context.volumes.locate(names));
}

/**
 * Sends a process's output in the order it came, without making the process wait for each send;
 * flushed() resolves once everything pushed so far is sent.
 */
function inOrder<M>(send: (message: M) => Promise<void>): { push(message: M): void; flushed(): Promise<void> } {
  let chain = Promise.resolve();
  return {
    push: (message) => void (chain = chain.then(() => send(message))),
    flushed: () => chain,
  };
}

/** A client's messages after the first (attach or exec), as the domain takes them. */
async function* clientInput(iterator: AsyncIterator<runtime.AttachRequest | runtime.ExecRequest>): AsyncGenerator<AttachInput> {
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    const message = next.value.message;
    if (message?.$case === 'stdin') yield { kind: 'stdin', data: Buffer.from(message.value) };
    else if (message?.$case === 'closeStdin') yield { kind: 'close-stdin' };
    else if (message?.$case === 'resize') yield { kind: 'resize', rows: message.value.rows, cols: message.value.cols };
  }
}

async function summaries(context: RuntimeContext, containers: Container[]): Promise<runtime.ContainerSummary[]> {
  const attachments = await context.networks.attachmentsOf(containers.map((container) => container.id));
  // What a silent node's agent last recorded may no longer be so: its containers are unknown, not lost.
  const unreachable = new Set((await context.nodes.list()).filter((node) => node.state === 'unreachable').map((node) => node.name));
  return containers.map((container) => toSummary(container, attachments.get(container.id), unreachable.has(container.node)));
}

async function detail(context: RuntimeContext, container: Container, nodeUnreachable = false): Promise<runtime.ContainerDetail> {
  const attachments = await context.networks.attachmentsOf([container.id]);
  return toDetail(container, context.stateDir, context.layers, attachments.get(container.id), nodeUnreachable);
}
