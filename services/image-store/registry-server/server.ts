import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { GcLock, ImageContext } from '../images';
import { RegistryError, sendError } from './errors';
import { registryRoutes, route } from './routes';

export interface RegistryServerOptions {
  /** HOST:PORT. */
  listen: string;
  tls?: { cert: string; key: string };
}

/** Serves the OCI distribution API over the image store; resolves once listening, with the bound address. */
export async function startRegistryServer(
  context: ImageContext & { gcLock: GcLock },
  options: RegistryServerOptions,
): Promise<{ address: string; close(): Promise<void> }> {
  const routes = registryRoutes(context);
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://registry');
    response.setHeader('docker-distribution-api-version', 'registry/2.0');
    const found = route(routes, request.method ?? 'GET', url.pathname);
    const work = found === undefined
      ? Promise.reject(new RegistryError('UNSUPPORTED', `${request.method} ${url.pathname} is not part of the distribution API`))
      : found.handler(request, response, url, ...found.parts);
    work.catch((err: unknown) => {
      if (!(err instanceof RegistryError)) context.logger.error({ err, method: request.method, path: url.pathname }, 'registry request failed');
      request.resume();
      sendError(response, err);
    });
  };
  const server: Server = options.tls === undefined
    ? createHttpServer(handle)
    : createHttpsServer({ cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) }, handle);
  const [host, port] = [options.listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''), Number(options.listen.replace(/^.*:/, ''))];
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as { port: number };
  const address = `${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
  context.logger.info({ address, tls: options.tls !== undefined }, `registry server listening on ${options.tls ? 'https' : 'http'}://${address}`);
  return {
    address,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
