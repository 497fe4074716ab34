import { chmodSync, readFileSync, unlinkSync } from 'node:fs';
import { Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { serverCredentials, isUnixAddress, type TlsFiles } from './credentials';
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
   * Stops accepting calls, marks health NOT_SERVING, lets calls in flight finish for up to graceMs,
   * then cancels the rest.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Serves the given services with grpc.health.v1 and server reflection on every address. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const server = new Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  for (const registration of options.services) server.addService(registration.definition, registration.implementation);

  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  reflection(options.descriptorSetPath, options.services.map((s) => s.name)).addToServer(server);

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

  for (const name of ['', ...options.services.map((s) => s.name)]) health.setStatus(name, 'SERVING');
  options.logger.info({ listen: bound }, `${options.service} listening on ${bound.join(', ')}`);

  return {
    addresses: bound,
    async shutdown(graceMs = 10_000) {
      for (const name of ['', ...options.services.map((s) => s.name)]) health.setStatus(name, 'NOT_SERVING');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          options.logger.warn(`calls still running after ${graceMs} ms: cancelling them`);
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      for (const address of bound.filter(isUnixAddress)) {
        try {
          unlinkSync(unixSocketPath(address));
        } catch {
          // already gone
        }
      }
    },
  };
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
