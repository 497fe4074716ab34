import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
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
 * The Docker Engine API on a unix socket (root only), translated to Berth's gRPC services: a client
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

  const socket = dockerSocketPath(config);
  mkdirSync(dirname(socket), { recursive: true, mode: 0o700 });
  rmSync(socket, { force: true });
  const server = createServer((request, response) => void router.handle(request, response));
  server.on('upgrade', (request, socket, head) => void router.handleUpgrade(request, socket, head));
  // Long waits and log follows are the API's nature: no request timeout.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, resolve));
  chmodSync(socket, 0o600);
  logger.info({ socket }, `docker-api listening on ${socket}`);

  const stop = () => {
    logger.info('docker-api stopping');
    server.close();
    server.closeAllConnections();
    berth.close();
    void telemetry.shutdown().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
