import type { Client, ClientReadableStream, Metadata, ServiceError } from '@grpc/grpc-js';
import { loadConfig, serviceEndpoint, type Config, type ServiceName } from '../libs/config';
import { createClient, fromServiceError, unaryCall } from '../libs/grpc';
import { builder, events, imagestore, network, node, runtime, volume } from '../libs/proto';
import { commandTrace } from './trace';

type ClientConstructor<C> = Parameters<typeof createClient<C & Client>>[0];

/** A service as the command line reaches it: its endpoint, a client, and the command's trace. */
function connect<C extends Client>(service: ServiceName, Constructor: ClientConstructor<C>, config: Config) {
  const endpoint = serviceEndpoint(config, service);
  const client = createClient(Constructor, endpoint, { deadlineMs: config.grpc.deadlineMs, tls: config.grpc.tls });
  const trace = commandTrace();
  return {
    config,
    client,
    endpoint,
    /** One unary call, its failure as a BerthError. */
    call<Res>(invoke: (metadata: Metadata, options: object, callback: (err: ServiceError | null, response: Res) => void) => unknown): Promise<Res> {
      return unaryCall(endpoint, invoke, { metadata: trace.metadata() });
    },
    metadata: trace.metadata,
    close: () => client.close(),
  };
}

export const imageStore = (config: Config = loadConfig()) => connect('image-store', imagestore.ImageStoreServiceClient, config);
export const runtimeAgent = (config: Config = loadConfig()) => connect('runtime-agent', runtime.RuntimeServiceClient, config);
/** Networks are the runtime-agent's too: it serves NetworkService beside RuntimeService. */
export const networkService = (config: Config = loadConfig()) => connect('runtime-agent', network.NetworkServiceClient, config);
/** The cluster's nodes, as every runtime-agent knows them. */
export const nodeService = (config: Config = loadConfig()) => connect('runtime-agent', node.NodeServiceClient, config);
/** Every service serves the event stream; the host's runtime-agent is the one a host always has. */
export const eventService = (config: Config = loadConfig()) => connect('runtime-agent', events.EventServiceClient, config);
export const volumeService = (config: Config = loadConfig()) => connect('volume', volume.VolumeServiceClient, config);
export const builderService = (config: Config = loadConfig()) => connect('builder', builder.BuilderServiceClient, config);

/** Reads a server stream to its end, handing each message to onMessage; a failure becomes a BerthError. */
export async function readStream<T>(stream: ClientReadableStream<T>, endpoint: string, onMessage: (message: T) => void): Promise<void> {
  try {
    for await (const message of stream) onMessage(message as T);
  } catch (err) {
    throw fromServiceError(err as ServiceError, endpoint);
  }
}
