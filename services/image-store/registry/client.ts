import { pipeline, Readable, Transform } from 'node:stream';
import { BerthError, isBerthError, unavailable } from '../../../libs/errors';
import { MANIFEST_ACCEPT } from '../images/manifest';
import { DEFAULT_DOMAIN } from '../../../libs/reference';
import { parseChallenge, type Challenge } from './challenge';
import { isTransient, registryError } from './errors';

export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
}

export interface RegistryClientOptions {
  /** The registry's host[:port] as in a reference ("docker.io", "localhost:5000"). */
  registry: string;
  credentials?: Credentials;
  /** Registries reached over plain HTTP although they are not on loopback. */
  insecureRegistries?: string[];
  /** How long to wait for a response's headers, and for the next bytes of a body. */
  timeoutMs?: number;
}

const RETRY_DELAYS_MS = [200, 1_000, 3_000];

/**
 * A client of one registry's OCI distribution API. It answers the registry's authentication
 * challenge itself: a Bearer challenge (Docker Hub, GHCR) is met with a token for the scopes needed,
 * fetched with the credentials if any (anonymously otherwise); a Basic challenge with the credentials.
 */
export class RegistryClient {
  readonly baseUrl: string;
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  private basic: string | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly options: RegistryClientOptions) {
    this.baseUrl = registryBaseUrl(options.registry, options.insecureRegistries ?? []);
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** GET /v2/: checks the registry answers and the credentials are accepted. */
  async ping(): Promise<void> {
    const response = await this.request('GET', '/v2/', { scopes: [] });
    if (!response.ok) throw await registryError(response, `registry ${this.options.registry}`);
    await response.body?.cancel();
  }

  /** A manifest or index by tag or digest, with its media type and the digest the registry gives. */
  async getManifest(repository: string, reference: string): Promise<{ body: Buffer; mediaType: string; digest?: string }> {
    const response = await this.request('GET', `/v2/${repository}/manifests/${reference}`, {
      scopes: [pullScope(repository)],
      headers: { accept: MANIFEST_ACCEPT.join(', ') },
      retry: true,
    });
    if (!response.ok) throw await registryError(response, `manifest ${this.options.registry}/${repository}:${reference}`);
    const body = Buffer.from(await response.arrayBuffer());
    return {
      body,
      mediaType: (response.headers.get('content-type') ?? '').split(';')[0]!.trim(),
      digest: response.headers.get('docker-content-digest') ?? undefined,
    };
  }

  /** A blob's bytes as a stream; the stream fails if the registry stops sending for timeoutMs. */
  async getBlob(repository: string, digest: string): Promise<Readable> {
    const response = await this.request('GET', `/v2/${repository}/blobs/${digest}`, { scopes: [pullScope(repository)], retry: true });
    if (!response.ok) throw await registryError(response, `blob ${digest} of ${this.options.registry}/${repository}`);
    if (response.body === null) throw unavailable(`blob ${digest}: the registry sent no body`);
    return withStallTimeout(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), this.timeoutMs, digest);
  }

  /** Whether the repository has the blob. */
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const response = await this.request('HEAD', `/v2/${repository}/blobs/${digest}`, { scopes: [pushScope(repository)], retry: true });
    if (response.status === 404) return false;
    if (!response.ok) throw await registryError(response, `blob ${digest} of ${this.options.registry}/${repository}`);
    return true;
  }

  /** Asks the registry to link a blob from another of its repositories; false if it would not. */
  async mountBlob(repository: string, digest: string, from: string): Promise<boolean> {
    const response = await this.request('POST', `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, {
      scopes: [pushScope(repository), pullScope(from)],
    });
    await response.body?.cancel();
    if (response.status === 201) return true;
    if (response.status === 202) {
      // The registry started an ordinary upload instead: cancel it, the caller uploads the blob.
      const location = response.headers.get('location');
      if (location !== null) await this.request('DELETE', location, { scopes: [pushScope(repository)] }).then((r) => r.body?.cancel()).catch(() => undefined);
      return false;
    }
    throw await registryError(response, `mount of ${digest} into ${repository}`);
  }

  /** Uploads a blob in one request (POST for a location, then PUT with the bytes). */
  async putBlob(repository: string, digest: string, size: number, body: () => Readable): Promise<void> {
    const started = await this.request('POST', `/v2/${repository}/blobs/uploads/`, { scopes: [pushScope(repository)] });
    await started.body?.cancel();
    if (started.status !== 202) throw await registryError(started, `upload of ${digest} to ${repository}`);
    const location = started.headers.get('location');
    if (location === null) throw unavailable(`upload of ${digest}: the registry gave no upload location`);
    const url = new URL(location, this.baseUrl);
    url.searchParams.set('digest', digest);
    const response = await this.request('PUT', url.toString(), {
      scopes: [pushScope(repository)],
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body,
    });
    await response.body?.cancel();
    if (response.status !== 201) throw await registryError(response, `upload of ${digest} to ${repository}`);
  }

  /** Stores a manifest under a tag or digest; returns the digest the registry computed. */
  async putManifest(repository: string, reference: string, mediaType: string, body: Buffer): Promise<string | undefined> {
    const response = await this.request('PUT', `/v2/${repository}/manifests/${reference}`, {
      scopes: [pushScope(repository)],
      headers: { 'content-type': mediaType },
      body: () => Readable.from([body]),
    });
    await response.body?.cancel();
    if (response.status !== 201) throw await registryError(response, `manifest ${repository}:${reference}`);
    return response.headers.get('docker-content-digest') ?? undefined;
  }

  /**
   * One request, authenticated: after a 401 with a challenge, once more with a token or basic
   * credentials. With retry, transient failures (network, 429, 5xx) are tried again with backoff.
   */
  private async request(
    method: string,
    pathOrUrl: string,
    options: { scopes: string[]; headers?: Record<string, string>; body?: () => Readable; retry?: boolean },
  ): Promise<Response> {
    const url = new URL(pathOrUrl, this.baseUrl).toString();
    for (let attempt = 0; ; attempt++) {
      try {
        let response = await this.send(method, url, options);
        if (response.status === 401) {
          const challenge = parseChallenge(response.headers.get('www-authenticate'));
          if (challenge !== undefined && (await this.answer(challenge, options.scopes))) {
            await response.body?.cancel();
            response = await this.send(method, url, options);
          }
        }
        if (options.retry && isTransient(response.status) && attempt < RETRY_DELAYS_MS.length) {
          await response.body?.cancel();
          await sleep(RETRY_DELAYS_MS[attempt]!);
          continue;
        }
        return response;
      } catch (err) {
        if (isBerthError(err)) throw err;
        if (options.retry && attempt < RETRY_DELAYS_MS.length) {
          await sleep(RETRY_DELAYS_MS[attempt]!);
          continue;
        }
        throw unavailable(`cannot reach registry ${this.options.registry} (${this.baseUrl}): ${describeFetchError(err)}`, err);
      }
    }
  }

  private async send(method: string, url: string, options: { scopes: string[]; headers?: Record<string, string>; body?: () => Readable }): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    const authorization = this.authorization(options.scopes);
    if (authorization !== undefined) headers.authorization = authorization;
    const init: RequestInit & { duplex?: 'half' } = { method, headers, redirect: 'follow', signal: AbortSignal.timeout(this.timeoutMs) };
    if (options.body !== undefined) {
      init.body = Readable.toWeb(options.body()) as unknown as RequestInit['body'];
      init.duplex = 'half';
      // A large upload may take longer than one timeout: only the headers' wait is bounded then.
      init.signal = undefined;
    }
    return fetch(url, init);
  }

  private authorization(scopes: string[]): string | undefined {
    const token = this.tokens.get(scopeKey(scopes));
    if (token !== undefined && token.expiresAt > Date.now()) return `Bearer ${token.token}`;
    return this.basic;
  }

  /** Gets what a challenge asks for; false when there is nothing to answer it with. */
  private async answer(challenge: Challenge, scopes: string[]): Promise<boolean> {
    const credentials = this.options.credentials;
    if (challenge.scheme === 'basic') {
      // Requests running at once may all meet the challenge: each is answered (once) with the credentials.
      if (credentials?.username === undefined) return false;
      this.basic ??= `Basic ${Buffer.from(`${credentials.username}:${credentials.password ?? ''}`).toString('base64')}`;
      return true;
    }
    if (challenge.scheme !== 'bearer' || challenge.params.realm === undefined) return false;
    const realm = new URL(challenge.params.realm);
    if (challenge.params.service !== undefined) realm.searchParams.set('service', challenge.params.service);
    const wanted = scopes.length > 0 ? scopes : challenge.params.scope !== undefined ? [challenge.params.scope] : [];
    for (const scope of wanted) realm.searchParams.append('scope', scope);
    const headers: Record<string, string> = {};
    if (credentials?.username !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password ?? ''}`).toString('base64')}`;
    }
    let response: Response;
    try {
      response = await fetch(realm, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw unavailable(`cannot reach the token service ${realm.origin}: ${describeFetchError(err)}`, err);
    }
    if (response.status === 401 || response.status === 403) {
      throw new BerthError('unauthenticated', `registry ${this.options.registry}: the credentials were refused by ${realm.origin}`);
    }
    if (!response.ok) throw await registryError(response, `token from ${realm.origin}`);
    const body = (await response.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (token === undefined) throw unavailable(`token from ${realm.origin}: no token in the answer`);
    // Renew a little early; 60 s is the distribution spec's default lifetime.
    this.tokens.set(scopeKey(scopes), { token, expiresAt: Date.now() + Math.max(10, (body.expires_in ?? 60) - 10) * 1000 });
    return true;
  }
}

/** https, except plain HTTP for loopback registries (as Docker allows) and ones configured insecure. */
export function registryBaseUrl(registry: string, insecure: string[]): string {
  if (registry === DEFAULT_DOMAIN) return 'https://registry-1.docker.io';
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || /^127\./.test(host) || host === '::1';
  return `${loopback || insecure.includes(registry) ? 'http' : 'https'}://${registry}`;
}

function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

function scopeKey(scopes: string[]): string {
  return [...scopes].sort().join(' ');
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if ((err as Error).name === 'TimeoutError') return 'timed out';
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Fails the stream when no bytes arrive for ms: a registry that stalls must not hang a pull. */
function withStallTimeout(source: Readable, ms: number, what: string): Readable {
  let timer: NodeJS.Timeout | undefined;
  const watched = new Transform({
    transform(chunk, _encoding, done) {
      arm();
      done(null, chunk);
    },
    flush(done) {
      clearTimeout(timer);
      done();
    },
  });
  function arm() {
    clearTimeout(timer);
    timer = setTimeout(() => watched.destroy(unavailable(`download of ${what} stalled: no data for ${ms / 1000} s`)), ms);
  }
  arm();
  watched.once('close', () => clearTimeout(timer));
  // pipeline() passes a failure of either side to the other and to whoever reads `watched`.
  pipeline(source, watched, () => undefined);
  return watched;
}
