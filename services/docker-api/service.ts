import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { dirname } from 'node:path';
import { connectBerth } from '../../client';
import { ConfigError, dockerSocketPath, loadConfig } from '../../libs/config';
import { createLogger } from '../../libs/logging';
import type { Telemetry } from '../../libs/telemetry';
import { buildRoutes } from './handlers/build';
import { containerRoutes } from './handlers/containers';
import { eventRoutes } from './handlers/events';
import { filesystemRoutes } from './handlers/filesystem';
import { imageTransferRoutes } from './handlers/image-transfer';
import { imageRoutes } from './handlers/images';
import { networkRoutes } from './handlers/networks';
import { resourceRoutes } from './handlers/resources';
import { streamRoutes } from './handlers/streams';
import { systemRoutes } from './handlers/system';
import { volumeRoutes } from './handlers/volumes';
import { Router } from './http/router';

/**
 * The Docker Engine API on a unix socket (root only), and on TCP with mutual TLS when configured, translated to Berth's gRPC services: a client
 * of them, with no state of its own, so that docker's CLI, dockerode and testcontainers keep working.
 */
export async function main(telemetry: Telemetry): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`docker-api: ${err.message}\n`);
    process.exit(2);
  }
  if (config.dockerApi.listen !== undefined && config.grpc.tls === undefined) {
    process.stderr.write(`docker-api: refusing to listen on ${config.dockerApi.listen} without TLS: TCP needs grpc.tls (ca, cert, key) for mutual TLS\n`);
    process.exit(2);
  }
  const logger = createLogger({ name: 'docker-api', level: config.log.level, format: config.log.format, base: { node: config.node } });
  const berth = connectBerth({ config });
  const router = new Router(logger);
  systemRoutes(router, berth);
  containerRoutes(router, berth);
  filesystemRoutes(router, berth);
  resourceRoutes(router, berth);
  imageTransferRoutes(router, berth);
  imageRoutes(router, berth);
  buildRoutes(router, berth);
  volumeRoutes(router, berth);
  networkRoutes(router, berth);
  streamRoutes(router, berth);
  eventRoutes(router, berth);

  const handle = (request: IncomingMessage, response: ServerResponse) => void router.handle(request, response);
  const servers: Server[] = [];
  const serve = async (server: Server, where: string | { host: string; port: number }) => {
    server.on('upgrade', (request, socket, head) => void router.handleUpgrade(request, socket, head));
    // Long waits and log follows are the API's nature: no request timeout.
    server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(where, resolve));
    servers.push(server);
  };

  if (config.dockerApi.listen !== undefined) {
    const tls = config.grpc.tls!;
    // Docker's --tlsverify: the client shows a certificate of the CA, as the services' own clients do.
    const options = { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key), requestCert: true, rejectUnauthorized: true };
    const [, host, port] = /^\[?(.*?)\]?:(\d+)$/.exec(config.dockerApi.listen)!;
    await serve(createHttpsServer(options, handle), { host: host!, port: Number(port) });
    logger.info({ listen: config.dockerApi.listen }, `docker-api listening on ${config.dockerApi.listen} (mutual TLS)`);
  }

  // The socket last: once it is there, everything is served (the supervisor and tests wait for it).
  const socket = dockerSocketPath(config);
  mkdirSync(dirname(socket), { recursive: true, mode: 0o700 });
  rmSync(socket, { force: true });
  await serve(createServer(handle), socket);
  chmodSync(socket, 0o600);
  logger.info({ socket }, `docker-api listening on ${socket}`);

  const stop = () => {
    logger.info('docker-api stopping');
    for (const server of servers) {
      server.close();
      server.closeAllConnections();
    }
    berth.close();
    void telemetry.shutdown().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
