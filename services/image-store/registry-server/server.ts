import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { GcLock, ImageContext } from '../images';
import { RegistryError, sendError, statusOf } from './errors';
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
    response.setHeader('docker-distribution-api-version', 'registry/2.0');
    const work = (async () => {
      // The request target is the client's: "http://[" is one Node's parser lets through, and a
      // throw here, outside any promise, would take the whole service down.
      const url = URL.canParse(request.url ?? '/', 'http://registry') ? new URL(request.url ?? '/', 'http://registry') : undefined;
      if (url === undefined) throw new RegistryError('NAME_INVALID', `${JSON.stringify(request.url)} is not a request target`);
      const found = route(routes, request.method ?? 'GET', url.pathname);
      if (found === undefined) throw new RegistryError('UNSUPPORTED', `${request.method} ${url.pathname} is not part of the distribution API`);
      await found.handler(request, response, url, ...found.parts);
    })();
    work.catch((err: unknown) => {
      const fields = { err, method: request.method, path: request.url };
      // A client that went away mid-request (a body cut short, a download dropped) is no failure of
      // the server's; neither is what it answers with a 4xx. The rest are bugs, and logged as such.
      if (response.destroyed || (request.destroyed && !request.complete)) context.logger.info(fields, 'registry request ended: the client went away');
      else if (statusOf(err) >= 500) context.logger.error(fields, 'registry request failed');
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
