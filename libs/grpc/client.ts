import {
  InterceptingCall,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type Interceptor,
  type InterceptorOptions,
  type ServiceError,
} from '@grpc/grpc-js';
import { health } from '../proto';
import { channelCredentials, type TlsFiles } from './credentials';
import { fromServiceError } from './status';

export interface ClientOptions {
  /** The deadline of a call that sets none of its own. */
  deadlineMs: number;
  tls?: TlsFiles;
  interceptors?: Interceptor[];
  channelOptions?: Partial<ChannelOptions>;
}

type ClientConstructor<C extends Client> = new (
  address: string,
  credentials: ChannelCredentials,
  options?: Partial<ChannelOptions> & { interceptors?: Interceptor[] },
) => C;

/** Gives every call a deadline: a call that forgot one would otherwise wait forever on a dead peer. */
export function defaultDeadline(deadlineMs: number): Interceptor {
  return (options: InterceptorOptions, nextCall) =>
    new InterceptingCall(nextCall({ ...options, deadline: options.deadline ?? Date.now() + deadlineMs }));
}

/** A generated client for a target: unix sockets in the clear, TCP with mutual TLS. */
export function createClient<C extends Client>(Constructor: ClientConstructor<C>, target: string, options: ClientOptions): C {
  return new Constructor(target, channelCredentials(target, options.tls), {
    // A service that restarts is back within seconds: try again at least every 2 s rather than
    // backing off to grpc-js's two minutes, so that a call waiting for it is not the one to give up.
    'grpc.max_reconnect_backoff_ms': 2_000,
    ...options.channelOptions,
    interceptors: [defaultDeadline(options.deadlineMs), ...(options.interceptors ?? [])],
  });
}

type UnaryInvoker<Res> = (
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, response: Res) => void,
) => unknown;

/**
 * Runs one unary call as a promise; a failure becomes a BerthError of the matching kind.
 * Example: `await unaryCall(target, (m, o, cb) => client.info({}, m, o, cb))`.
 */
export function unaryCall<Res>(
  target: string,
  invoke: UnaryInvoker<Res>,
  options: { metadata?: Metadata; deadlineMs?: number } = {},
): Promise<Res> {
  const callOptions: Partial<CallOptions> =
    options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  return new Promise((resolve, reject) => {
    invoke(options.metadata ?? new Metadata(), callOptions, (err, response) =>
      err ? reject(fromServiceError(err, target)) : resolve(response),
    );
  });
}

export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN';

/** Asks a server's grpc.health.v1 service how it is. */
export async function checkHealth(
  target: string,
  options: ClientOptions & { service?: string },
): Promise<HealthStatus> {
  const client = createClient(health.HealthClient, target, options);
  try {
    const response = await unaryCall<health.HealthCheckResponse>(target, (m, o, cb) => client.check({ service: options.service ?? '' }, m, o, cb));
    return health.healthCheckResponse_ServingStatusToJSON(response.status) as HealthStatus;
  } finally {
    client.close();
  }
}
