/**
 * Berth's client for programs: one object with a typed handle on each service (the generated gRPC
 * clients of proto/), reached the way the command line reaches them (the config file and BERTH_*
 * variables, or endpoints given), with a deadline on every call and errors as BerthError, whose
 * `kind` names what went wrong ("not_found", "already_exists", "failed_precondition", ...).
 *
 *   const berth = connectBerth();
 *   const { containers } = await berth.runtime.call('list', { all: true, filters: {} });
 *   for await (const { event } of berth.events.stream('subscribe', { filters: {}, since: undefined, until: undefined })) ...
 *   berth.close();
 */
import type { CallOptions, Client, ClientReadableStream, Metadata, ServiceError } from '@grpc/grpc-js';
import { loadConfig, serviceEndpoint, type Config, type ServiceName } from '../libs/config';
import { BerthError, isBerthError, type ErrorKind } from '../libs/errors';
import { createClient, fromServiceError, unaryCall, type ClientOptions } from '../libs/grpc';
import { builder, events, imagestore, network, node, runtime, volume } from '../libs/proto';

export { BerthError, isBerthError, type ErrorKind };
export { builder, events, imagestore, network, node, runtime, volume };

type UnaryCallback<Res> = (error: ServiceError | null, response: Res) => void;

/** The client's methods that take a request and answer once. */
type UnaryMethod<C, K extends keyof C> = C[K] extends (request: infer Req, metadata: Metadata, options: Partial<CallOptions>, callback: UnaryCallback<infer Res>) => unknown ? [Req, Res] : never;
/** The client's methods that take a request and answer with a stream. */
type StreamMethod<C, K extends keyof C> = C[K] extends (request: infer Req, metadata?: Metadata, options?: Partial<CallOptions>) => ClientReadableStream<infer Res> ? [Req, Res] : never;
type UnaryNames<C> = { [K in keyof C]: UnaryMethod<C, K> extends never ? never : K }[keyof C];
type StreamNames<C> = { [K in keyof C]: StreamMethod<C, K> extends never ? never : K }[keyof C];

/** One service: its generated client, and its calls as promises and async iterables. */
export class ServiceHandle<C extends Client> {
  constructor(
    /** The generated client, for what call and stream do not cover (client and bidirectional streams). */
    readonly client: C,
    readonly endpoint: string,
  ) {}

  /** A unary RPC by its method name ("list", "inspect", ...); its failure is a BerthError. */
  call<K extends UnaryNames<C>>(method: K, request: UnaryMethod<C, K>[0], options: { deadline?: Date } = {}): Promise<UnaryMethod<C, K>[1]> {
    const invoke = (this.client[method] as unknown as (...args: unknown[]) => unknown).bind(this.client);
    return unaryCall<UnaryMethod<C, K>[1]>(this.endpoint, (metadata, callOptions, callback) => invoke(request, metadata, { ...callOptions, ...options }, callback));
  }

  /** A server-streaming RPC ("logs", "subscribe", "pull", ...) as an async iterable; no deadline unless given. */
  async *stream<K extends StreamNames<C>>(method: K, request: StreamMethod<C, K>[0], options: { deadline?: Date; signal?: AbortSignal } = {}): AsyncGenerator<StreamMethod<C, K>[1]> {
    const invoke = (this.client[method] as unknown as (...args: unknown[]) => ClientReadableStream<StreamMethod<C, K>[1]>).bind(this.client);
    const call = invoke(request, undefined, { deadline: options.deadline ?? Infinity });
    const cancel = () => call.cancel();
    options.signal?.addEventListener('abort', cancel, { once: true });
    let ended = false;
    try {
      for await (const message of call) yield message as StreamMethod<C, K>[1];
      ended = true;
    } catch (err) {
      ended = true;
      if (options.signal?.aborted) return;
      throw fromServiceError(err as ServiceError, this.endpoint);
    } finally {
      options.signal?.removeEventListener('abort', cancel);
      // A loop that stopped reading early (break, return, a throw of its own) is done with the call.
      if (!ended) call.cancel();
    }
  }
}

export interface BerthClient {
  images: ServiceHandle<imagestore.ImageStoreServiceClient>;
  runtime: ServiceHandle<runtime.RuntimeServiceClient>;
  networks: ServiceHandle<network.NetworkServiceClient>;
  /** The cluster's nodes (any runtime-agent answers for all of them). */
  nodes: ServiceHandle<node.NodeServiceClient>;
  volumes: ServiceHandle<volume.VolumeServiceClient>;
  builder: ServiceHandle<builder.BuilderServiceClient>;
  /** The event stream (every service serves it; this asks the runtime-agent, as the command line does). */
  events: ServiceHandle<events.EventServiceClient>;
  close(): void;
}

export interface ConnectOptions {
  /** Where the services are; by default what the config (file and BERTH_* variables) says. */
  endpoints?: Partial<Record<ServiceName, string>>;
  /** The deadline of a unary call that gives none; by default the config's. */
  deadlineMs?: number;
  config?: Config;
}

/** Clients of every service; nothing connects until the first call. */
export function connectBerth(options: ConnectOptions = {}): BerthClient {
  const config = options.config ?? loadConfig();
  const clientOptions: ClientOptions = { deadlineMs: options.deadlineMs ?? config.grpc.deadlineMs, tls: config.grpc.tls };
  const handles: ServiceHandle<Client>[] = [];
  const handle = <C extends Client>(service: ServiceName, Constructor: Parameters<typeof createClient<C>>[0]): ServiceHandle<C> => {
    const endpoint = options.endpoints?.[service] ?? serviceEndpoint(config, service);
    const made = new ServiceHandle(createClient(Constructor, endpoint, clientOptions), endpoint);
    handles.push(made);
    return made;
  };
  return {
    images: handle('image-store', imagestore.ImageStoreServiceClient),
    runtime: handle('runtime-agent', runtime.RuntimeServiceClient),
    networks: handle('runtime-agent', network.NetworkServiceClient),
    nodes: handle('runtime-agent', node.NodeServiceClient),
    volumes: handle('volume', volume.VolumeServiceClient),
    builder: handle('builder', builder.BuilderServiceClient),
    events: handle('runtime-agent', events.EventServiceClient),
    close: () => handles.forEach((made) => made.client.close()),
  };
}
