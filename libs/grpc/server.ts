import { chmodSync, readFileSync, unlinkSync } from 'node:fs';
import { Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { serverCredentials, isUnixAddress, type TlsFiles } from './credentials';
import { Drain } from './drain';
import { prepareUnixSocket, unixSocketPath } from './socket';

export interface ServiceRegistration {
  /** The fully qualified name, for health and reflection: "berth.runtime.v1.RuntimeService". */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface ServeOptions {
  /** The service's own name, for messages: "runtime-agent". */
  service: string;
  /** gRPC bind addresses: unix:///path (root only) or HOST:PORT (mutual TLS). */
  addresses: string[];
  tls?: TlsFiles;
  services: ServiceRegistration[];
  /** A protobuf FileDescriptorSet of the API, for server reflection. */
  descriptorSetPath: string;
  logger: Logger;
}

export interface RunningServer {
  /** The addresses bound, with the ports chosen for HOST:0. */
  addresses: string[];
  /**
   * Marks health NOT_SERVING and refuses new calls (health checks still answer), lets calls in flight
   * finish for up to graceMs, then cancels the rest. Calling it again waits for the same shutdown.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Serves the given services with grpc.health.v1 and server reflection on every address. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const drain = new Drain(options.service);
  const server = new Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024, interceptors: [drain.interceptor] });
  for (const registration of options.services) server.addService(registration.definition, registration.implementation);

  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  reflection(options.descriptorSetPath, options.services.map((s) => s.name)).addToServer(server);
  const setHealth = (status: 'SERVING' | 'NOT_SERVING') => {
    for (const name of ['', ...options.services.map((s) => s.name)]) health.setStatus(name, status);
  };

  const bound: string[] = [];
  try {
    for (const address of options.addresses) {
      if (isUnixAddress(address)) await prepareUnixSocket(unixSocketPath(address), options.service);
      const port = await bindAsync(server, address, serverCredentials(address, options.tls));
      if (isUnixAddress(address)) chmodSync(unixSocketPath(address), 0o600);
      bound.push(isUnixAddress(address) ? address : address.replace(/:\d+$/, `:${port}`));
    }
  } catch (err) {
    server.forceShutdown();
    throw err;
  }

  setHealth('SERVING');
  options.logger.info({ listen: bound }, `${options.service} listening on ${bound.join(', ')}`);

  async function stop(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    setHealth('NOT_SERVING');
    const drained = await drain.drain(graceMs);
    drain.endOwnCalls();
    // tryShutdown closes the listeners and lets each connection finish sending what its calls answered.
    if (!drained || !(await closeWithin(server, deadline - Date.now()))) {
      options.logger.warn(`calls still running after ${graceMs} ms: cancelling them`);
      server.forceShutdown();
    }
    for (const address of bound.filter(isUnixAddress)) removeSocket(unixSocketPath(address));
  }

  let stopping: Promise<void> | undefined;
  return {
    addresses: bound,
    shutdown(graceMs = 10_000) {
      stopping ??= stop(graceMs);
      return stopping;
    },
  };
}

/** Shuts the server down gracefully; false if connections are still busy after ms. */
function closeWithin(server: Server, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function removeSocket(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function bindAsync(server: Server, address: string, credentials: ReturnType<typeof serverCredentials>): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

function reflection(descriptorSetPath: string, serviceNames: string[]): ReflectionService {
  const definition = loadFileDescriptorSetFromBuffer(readFileSync(descriptorSetPath));
  return new ReflectionService(definition, { services: serviceNames });
}
