import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalidArgument, isBerthError, messageOf, notFound, type ErrorKind } from '../../../libs/errors';
import type { Logger } from '../../../libs/logging';

/** The newest Engine API version Berth speaks, and the oldest it accepts in a /vX.Y/ prefix. */
export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.24';

/** One request as a handler sees it: the path's parameters, the query, and the body on demand. */
export interface Call {
  request: IncomingMessage;
  response: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The body parsed as JSON ({} when empty); a malformed body is INVALID_ARGUMENT. */
  json<T>(): Promise<T>;
}

export type Handler = (call: Call) => Promise<void>;

/** A request that takes over its connection (attach, exec start): the handler answers on the socket itself. */
export interface UpgradeCall {
  request: IncomingMessage;
  /** The connection, when the client asked to upgrade it; else the answer goes through response. */
  socket?: Duplex;
  response?: ServerResponse;
  /** Bytes the client sent after its request, already read. */
  head: Buffer;
  params: Record<string, string>;
  query: URLSearchParams;
  json<T>(): Promise<T>;
}

export type UpgradeHandler = (call: UpgradeCall) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler?: Handler;
  upgrade?: UpgradeHandler;
}

/** Docker's statuses for what went wrong (its errdefs): a conflict is 409, a bad request 400. */
const STATUS: Record<ErrorKind, number> = {
  not_found: 404,
  already_exists: 409,
  invalid_argument: 400,
  failed_precondition: 409,
  resource_exhausted: 507,
  unavailable: 503,
  deadline_exceeded: 504,
  cancelled: 499,
  permission_denied: 403,
  unauthenticated: 401,
  internal: 500,
};

/** The Engine API's routes: paths such as /containers/{id}/start, with or without a /v1.41 prefix. */
export class Router {
  private readonly routes: Route[] = [];

  constructor(private readonly logger: Logger) {}

  on(method: string, path: string, handler: Handler): this {
    this.routes.push({ method, ...pattern(path), handler });
    return this;
  }

  /**
   * A route that takes over the connection: asked with `Upgrade: tcp` (as docker's CLI and dockerode
   * do) or plainly (then the answer is a 200 and the stream follows on the same connection).
   */
  onUpgrade(method: string, path: string, upgrade: UpgradeHandler): this {
    this.routes.push({ method, ...pattern(path), upgrade });
    return this;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    await this.dispatch(request, (err) => this.fail(response, err), (route, params, query) => {
      if (route.handler !== undefined) return route.handler({ request, response, params, query, json: () => readJson(request) });
      // Asked without Upgrade: the stream is the response's body, and there is no way in.
      return route.upgrade!({ request, response, head: Buffer.alloc(0), params, query, json: () => readJson(request) });
    });
  }

  /** A request that came with `Upgrade`: only upgrade routes take it. */
  async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    await this.dispatch(request, (err) => failOnSocket(socket, err), (route, params, query) => {
      if (route.upgrade === undefined) throw invalidArgument(`${request.method} ${request.url} does not upgrade the connection`);
      return route.upgrade({ request, socket, head, params, query, json: () => readJson(request) });
    });
  }

  private async dispatch(
    request: IncomingMessage,
    fail: (err: unknown) => void,
    run: (route: Route, params: Record<string, string>, query: URLSearchParams) => Promise<void>,
  ): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://docker');
    const versioned = /^\/v(\d+\.\d+)(\/.*)$/.exec(url.pathname);
    const path = versioned?.[2] ?? url.pathname;
    try {
      if (versioned !== null && compareVersions(versioned[1]!, MIN_API_VERSION) < 0) {
        throw invalidArgument(`client version ${versioned[1]} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      }
      const method = request.method === 'HEAD' ? 'GET' : request.method ?? 'GET';
      this.logger.debug({ method: request.method, path, query: url.search }, 'request');
      for (const route of this.routes) {
        const match = route.method === method ? route.pattern.exec(path) : null;
        if (match === null) continue;
        await run(route, Object.fromEntries(route.names.map((name, index) => [name, decodeURIComponent(match[index + 1]!)])), url.searchParams);
        return;
      }
      throw notFound(`page not found: ${request.method} ${path}`);
    } catch (err) {
      if (!isBerthError(err) || STATUS[err.kind] >= 500) this.logger.warn({ err }, `${request.method} ${path}: ${messageOf(err)}`);
      fail(err);
    }
  }

  /** Docker's error body ({"message": ...}) with the status for the error's kind; after a stream began, the stream ends. */
  private fail(response: ServerResponse, err: unknown): void {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    sendJson(response, statusOf(err), { message: messageOf(err) });
  }
}

function statusOf(err: unknown): number {
  return isBerthError(err) ? STATUS[err.kind] : 500;
}

/** {name} is one segment, except a trailing {name*} which takes the rest (image names have slashes). */
function pattern(path: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path.replace(/\{(\w+)(\*?)\}/g, (_match, name: string, rest: string) => {
    names.push(name);
    return rest === '*' ? '(.+?)' : '([^/]+)';
  });
  return { pattern: new RegExp(`^${source}$`), names };
}

/** An error for a request that asked to upgrade, before the connection was taken over. */
function failOnSocket(socket: Duplex, err: unknown): void {
  const body = JSON.stringify({ message: messageOf(err) });
  socket.end(`HTTP/1.1 ${statusOf(err)} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nApi-Version: ${API_VERSION}\r\nConnection: close\r\n\r\n${body}`);
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Api-Version': API_VERSION });
  response.end(text);
}

/** 204 No Content: what Docker answers for start, stop, kill and the like. */
export function sendNoContent(response: ServerResponse, status = 204): void {
  response.writeHead(status, { 'Api-Version': API_VERSION });
  response.end();
}

async function readJson<T>(request: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '' || text === 'null') return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw invalidArgument(`the request body is not JSON: ${messageOf(err)}`);
  }
}

function compareVersions(a: string, b: string): number {
  const [aMajor, aMinor] = a.split('.').map(Number);
  const [bMajor, bMinor] = b.split('.').map(Number);
  return aMajor! - bMajor! || aMinor! - bMinor!;
}

/** A query flag as Docker's clients send them: 1, true, True. */
export function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value !== null && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** Docker's filters parameter ({"label":["a=b"]} or the old {"label":{"a=b":true}}) as Berth's filter map. */
export function filters(query: URLSearchParams): Record<string, { values: string[] }> {
  const text = query.get('filters');
  if (text === null || text === '') return {};
  let parsed: Record<string, string[] | Record<string, boolean>>;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw invalidArgument(`invalid filters: ${text}`);
  }
  return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, { values: Array.isArray(value) ? value : Object.keys(value).filter((k) => value[k]) }]));
}

/** Docker's since/until: seconds since the epoch, with an optional fraction. */
export function unixTime(value: string | null): Date | undefined {
  if (value === null || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw invalidArgument(`invalid time "${value}": seconds since the epoch`);
  return new Date(parsed * 1000);
}
