import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isBerthError } from '../../../libs/errors';
import { formatReference, parseReference, repositoryName, type Reference } from '../../../libs/reference';
import { isDigest, sha256Digest } from '../content';
import type { GcLock, ImageContext } from '../images';
import { parseImageConfig, parseManifest, selectPlatform, hostPlatform, type ImageConfig, type Manifest } from '../images/manifest';
import { recordImage } from '../images/record';
import { RegistryError, type RegistryErrorCode } from './errors';

type Context = ImageContext & { gcLock: GcLock };

const UPLOAD_LEASE_MS = 60 * 60 * 1000;
const NAME = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*';
const ROUTES: Array<{ method: string[]; pattern: RegExp; handler: keyof RegistryRoutes }> = [
  { method: ['GET', 'HEAD'], pattern: /^\/v2\/?$/, handler: 'base' },
  { method: ['GET'], pattern: /^\/v2\/_catalog$/, handler: 'catalog' },
  { method: ['GET'], pattern: new RegExp(`^/v2/(${NAME})/tags/list$`), handler: 'tags' },
  { method: ['GET', 'HEAD'], pattern: new RegExp(`^/v2/(${NAME})/manifests/([^/]+)$`), handler: 'getManifest' },
  { method: ['PUT'], pattern: new RegExp(`^/v2/(${NAME})/manifests/([^/]+)$`), handler: 'putManifest' },
  { method: ['GET', 'HEAD'], pattern: new RegExp(`^/v2/(${NAME})/blobs/(sha256:[a-f0-9]{64})$`), handler: 'getBlob' },
  { method: ['POST'], pattern: new RegExp(`^/v2/(${NAME})/blobs/uploads/?$`), handler: 'startUpload' },
  { method: ['PATCH'], pattern: new RegExp(`^/v2/(${NAME})/blobs/uploads/([0-9a-f-]{36})$`), handler: 'patchUpload' },
  { method: ['PUT'], pattern: new RegExp(`^/v2/(${NAME})/blobs/uploads/([0-9a-f-]{36})$`), handler: 'finishUpload' },
  { method: ['DELETE'], pattern: new RegExp(`^/v2/(${NAME})/blobs/uploads/([0-9a-f-]{36})$`), handler: 'cancelUpload' },
];

type Handler = (request: IncomingMessage, response: ServerResponse, url: URL, ...parts: string[]) => Promise<void>;
type RegistryRoutes = Record<'base' | 'catalog' | 'tags' | 'getManifest' | 'putManifest' | 'getBlob' | 'startUpload' | 'patchUpload' | 'finishUpload' | 'cancelUpload', Handler>;

/** Finds the handler of a request: [handler, captured path parts], or undefined. */
export function route(routes: RegistryRoutes, method: string, path: string): { handler: Handler; parts: string[] } | undefined {
  for (const candidate of ROUTES) {
    const match = candidate.pattern.exec(path);
    if (match !== null && candidate.method.includes(method)) return { handler: routes[candidate.handler], parts: match.slice(1) };
  }
  return undefined;
}

/**
 * The OCI distribution API over the image store. A repository path maps to a Berth name as a
 * reference would: "app" is docker.io/library/app, "ghcr.io/o/app" is itself.
 */
export function registryRoutes(context: Context): RegistryRoutes {
  const uploads = new Map<string, { path: string; size: number }>();
  const uploadPath = (id: string) => join(context.content.root, 'ingest', `upload-${id}`);
  const repositoryOf = (name: string) => repositoryName(nameOf(name));

  async function resolveManifest(name: string, reference: string): Promise<{ digest: string; mediaType: string; size: number }> {
    const digest = isDigest(reference) ? reference : (await context.repository.findTag(formatReference({ ...nameOf(name), tag: reference, digest: undefined })))?.targetDigest;
    const manifest = digest === undefined ? undefined : await context.repository.manifest(digest);
    if (digest === undefined || manifest === undefined) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${name}:${reference} unknown`);
    return { digest, mediaType: manifest.mediaType, size: manifest.size };
  }

  async function storeUpload(id: string, digest: string, response: ServerResponse, name: string): Promise<void> {
    // Taken out of the map at once: a second PUT or a DELETE of the same upload meanwhile finds nothing.
    const upload = uploads.get(id);
    if (upload === undefined) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} unknown`);
    uploads.delete(id);
    const lease = context.leases.acquire(UPLOAD_LEASE_MS);
    lease.add(digest);
    try {
      await context.content.write(digest, createReadStream(upload.path), { size: upload.size });
    } catch (err) {
      lease.release();
      throw new RegistryError('DIGEST_INVALID', (err as Error).message);
    } finally {
      uploads.delete(id);
      await rm(upload.path, { force: true });
    }
    response.writeHead(201, { location: `/v2/${name}/blobs/${digest}`, 'docker-content-digest': digest, 'content-length': '0' }).end();
  }

  async function append(request: IncomingMessage, id: string): Promise<number> {
    const upload = uploads.get(id);
    if (upload === undefined) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} unknown`);
    await pipeline(request, createWriteStream(upload.path, { flags: 'a' }));
    const size = uploads.get(id) === upload ? await stat(upload.path).then((stats) => stats.size, () => undefined) : undefined;
    // Finished or cancelled by another request while this one wrote.
    if (size === undefined || uploads.get(id) !== upload) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} was finished or cancelled meanwhile`);
    upload.size = size;
    return size;
  }

  return {
    async base(_request, response) {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    },

    async catalog(_request, response) {
      const repositories = await context.repository.repositories();
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ repositories }));
    },

    async tags(_request, response, _url, name) {
      const tags = await context.repository.tagsOf(repositoryOf(name!));
      if (tags.length === 0) throw new RegistryError('NAME_UNKNOWN', `repository ${name} unknown`);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name, tags }));
    },

    async getManifest(request, response, _url, name, reference) {
      const manifest = await resolveManifest(name!, reference!);
      response.writeHead(200, { 'content-type': manifest.mediaType, 'content-length': String(manifest.size), 'docker-content-digest': manifest.digest });
      if (request.method === 'HEAD') return void response.end();
      response.end(await context.content.readBytes(manifest.digest));
    },

    async putManifest(request, response, _url, name, reference) {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const digest = sha256Digest(body);
      if (isDigest(reference!) && reference !== digest) throw new RegistryError('DIGEST_INVALID', `manifest body has digest ${digest}, not ${reference}`);
      await acceptManifest(context, name!, isDigest(reference!) ? undefined : reference, body, digest, request.headers['content-type']);
      response.writeHead(201, { location: `/v2/${name}/manifests/${digest}`, 'docker-content-digest': digest, 'content-length': '0' }).end();
    },

    async getBlob(request, response, _url, _name, digest) {
      const size = await context.content.size(digest!);
      if (size === undefined) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} unknown`);
      const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      const end = range && range[2] !== '' ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start > end && size > 0) throw new RegistryError('RANGE_INVALID', `range ${request.headers.range} outside ${size} bytes`);
      const headers = { 'content-type': 'application/octet-stream', 'docker-content-digest': digest!, 'content-length': String(size === 0 ? 0 : end - start + 1), 'accept-ranges': 'bytes' };
      response.writeHead(range ? 206 : 200, range ? { ...headers, 'content-range': `bytes ${start}-${end}/${size}` } : headers);
      if (request.method === 'HEAD' || size === 0) return void response.end();
      const { stream } = await context.content.read(digest!, { offset: start, length: end - start + 1 });
      await pipeline(stream, response);
    },

    async startUpload(request, response, url, name) {
      const mount = url.searchParams.get('mount');
      if (mount !== null && isDigest(mount) && (await context.content.size(mount)) !== undefined) {
        request.resume();
        response.writeHead(201, { location: `/v2/${name}/blobs/${mount}`, 'docker-content-digest': mount, 'content-length': '0' }).end();
        return;
      }
      const id = randomUUID();
      uploads.set(id, { path: uploadPath(id), size: 0 });
      await append(request, id);
      const digest = url.searchParams.get('digest');
      if (digest !== null) return storeUpload(id, digest, response, name!);
      response.writeHead(202, { location: `/v2/${name}/blobs/uploads/${id}`, range: '0-0', 'docker-upload-uuid': id, 'content-length': '0' }).end();
    },

    async patchUpload(request, response, _url, name, id) {
      const size = await append(request, id!);
      response.writeHead(202, { location: `/v2/${name}/blobs/uploads/${id}`, range: `0-${Math.max(0, size - 1)}`, 'docker-upload-uuid': id!, 'content-length': '0' }).end();
    },

    async finishUpload(request, response, url, name, id) {
      const digest = url.searchParams.get('digest');
      if (digest === null || !isDigest(digest)) throw new RegistryError('DIGEST_INVALID', 'the digest query parameter must name a sha256 digest');
      await append(request, id!);
      await storeUpload(id!, digest, response, name!);
    },

    async cancelUpload(_request, response, _url, _name, id) {
      const upload = uploads.get(id!);
      if (upload === undefined) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} unknown`);
      uploads.delete(id!);
      await rm(upload.path, { force: true });
      response.writeHead(204).end();
    },
  };
}

/**
 * Records a pushed manifest whose blobs are all here. An image manifest becomes an image (tagged when
 * pushed by tag); an index is recorded, and its tag points at the image for this host's platform.
 */
async function acceptManifest(context: Context, name: string, tag: string | undefined, body: Buffer, digest: string, contentType: string | undefined): Promise<void> {
  let parsed;
  try {
    parsed = parseManifest(body, contentType);
  } catch (err) {
    throw new RegistryError('MANIFEST_INVALID', (err as Error).message);
  }
  const reference = nameOf(name);
  const tagged = tag === undefined ? undefined : refused('MANIFEST_INVALID', () => parseReference(`${name}:${tag}`));
  if (tagged?.digest !== undefined) throw new RegistryError('MANIFEST_INVALID', `invalid tag "${tag}"`);
  const tags = tagged === undefined ? [] : [formatReference(tagged)];
  const event = { action: 'push', actorId: tags[0] ?? `${repositoryName(reference)}@${digest}`, attributes: { name: tags[0] ?? repositoryName(reference), digest } };
  await context.gcLock.shared(async () => {
    if (parsed.kind === 'manifest') {
      const manifest = parsed.manifest;
      for (const blob of [manifest.config, ...manifest.layers]) {
        if ((await context.content.size(blob.digest)) === undefined) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `blob ${blob.digest} unknown: push it first`);
      }
      await context.content.writeBytes(body, digest);
      await recordImage(context, {
        manifest: { digest, bytes: body, mediaType: parsed.mediaType, parsed: manifest },
        config: await configOf(context, manifest.config.digest),
        configDigest: manifest.config.digest,
        tags,
        repository: repositoryName(reference),
        event,
      });
      return;
    }
    for (const child of parsed.index.manifests) {
      if ((await context.repository.manifest(child.digest)) === undefined) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest ${child.digest} unknown: push it first`);
    }
    const native = selectPlatform(parsed.index, hostPlatform());
    if (native === undefined) throw new RegistryError('MANIFEST_INVALID', "the index has no manifest for this host's platform, which Berth stores images for");
    const childBytes = await context.content.readBytes(native.digest);
    const child = parseManifest(childBytes);
    if (child.kind !== 'manifest') throw new RegistryError('MANIFEST_INVALID', `${native.digest} is not an image manifest`);
    await context.content.writeBytes(body, digest);
    await recordImage(context, {
      manifest: { digest: native.digest, bytes: childBytes, mediaType: child.mediaType, parsed: child.manifest as Manifest },
      index: { digest, bytes: body, mediaType: parsed.mediaType, parsed },
      config: await configOf(context, child.manifest.config.digest),
      configDigest: child.manifest.config.digest,
      tags,
      repository: repositoryName(reference),
      event,
    });
  });
}

/**
 * fn's value; a BerthError it throws about what the client sent (invalid_argument) becomes the spec's
 * error code for it, rather than the generic DIGEST_INVALID.
 */
function refused<T>(code: RegistryErrorCode, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isBerthError(err, 'invalid_argument')) throw new RegistryError(code, err.message);
    throw err;
  }
}

/** A repository path as the client gave it ("app", "ghcr.io/o/app"), parsed: NAME_INVALID when it is not one (too long). */
function nameOf(name: string): Reference {
  return refused('NAME_INVALID', () => parseReference(name));
}

/** The config a pushed manifest names, which must be a valid one. */
async function configOf(context: Context, digest: string): Promise<ImageConfig> {
  const bytes = await context.content.readBytes(digest);
  return refused('MANIFEST_INVALID', () => parseImageConfig(bytes));
}
