import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { compressionOf } from '../../../libs/archive';
import { invalidArgument } from '../../../libs/errors';
import { formatReference, parseReference } from '../../../libs/reference';
import type { ImageRow } from '../store/repository';
import type { ImageContext } from '../images/context';
import type { GcLock } from '../images/gc';
import { hostPlatform, MEDIA_TYPES, parseImageConfig, parseManifest, selectPlatform, type Manifest } from '../images/manifest';
import { recordImage } from '../images/record';

type Context = ImageContext & { gcLock: GcLock };

/**
 * The only names an image archive holds: an OCI layout, Docker's manifest.json, and the classic
 * `docker save` layout. Anything else is skipped, so no entry can name a path outside the directory
 * it is extracted to.
 */
const ARCHIVE_NAME = /^(oci-layout|index\.json|manifest\.json|repositories|blobs\/sha256\/[a-f0-9]{64}|[a-f0-9]{64}\.json|[a-f0-9]{64}\/(layer\.tar|json|VERSION))$/;
const LOAD_LEASE_MS = 6 * 60 * 60 * 1000;

interface Extracted {
  dir: string;
  /** The file holding an archive name, following the archive's symlinks (old `docker save` links shared layers). */
  path(name: string): string;
  has(name: string): boolean;
}

/** `docker load`: images from `docker save` output (old or Docker 25's) or an OCI layout, every blob verified. */
export async function loadImages(context: Context, source: AsyncIterable<Uint8Array>): Promise<{ images: ImageRow[]; names: string[] }> {
  const extracted = await extractArchive(context, source);
  const lease = context.leases.acquire(LOAD_LEASE_MS);
  try {
    if (extracted.has('index.json')) return await loadOciLayout(context, extracted, lease.add);
    if (extracted.has('manifest.json')) return await loadDockerArchive(context, extracted, lease.add);
    throw invalidArgument('the archive holds no image: it has neither index.json (an OCI layout) nor manifest.json (docker save)');
  } finally {
    lease.release();
    await rm(extracted.dir, { recursive: true, force: true });
  }
}

async function extractArchive(context: Context, source: AsyncIterable<Uint8Array>): Promise<Extracted> {
  const dir = join(context.content.root, 'ingest', `load-${randomUUID()}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = new Set<string>();
  const links = new Map<string, string>();
  const reader = extract();
  const done = (async () => {
    for await (const entry of reader) {
      const name = normalize(entry.header.name).replace(/^(\.\/)+/, '').replace(/\/$/, '');
      if (ARCHIVE_NAME.test(name) && entry.header.type === 'file') {
        await mkdir(dirname(join(dir, name)), { recursive: true });
        await pipeline(entry, createWriteStream(join(dir, name)));
        files.add(name);
        continue;
      }
      if (ARCHIVE_NAME.test(name) && entry.header.type === 'symlink' && entry.header.linkname) {
        const target = normalize(join(dirname(name), entry.header.linkname));
        if (ARCHIVE_NAME.test(target)) links.set(name, target);
      }
      entry.resume();
    }
  })();
  try {
    await Promise.all([pipeline(source, reader), done]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw invalidArgument(`the archive is not a valid tar: ${(err as Error).message}`);
  }
  const resolve = (name: string) => links.get(name) ?? name;
  return {
    dir,
    path: (name) => join(dir, resolve(name)),
    has: (name) => files.has(resolve(name)),
  };
}

async function readJson<T>(extracted: Extracted, name: string): Promise<T> {
  if (!extracted.has(name)) throw invalidArgument(`the archive lacks ${name}`);
  try {
    return JSON.parse(await readFile(extracted.path(name), 'utf8')) as T;
  } catch {
    throw invalidArgument(`${name} in the archive is not JSON`);
  }
}

/** Stores one blob of the archive, verified against the digest it must have. */
async function storeBlob(context: Context, extracted: Extracted, name: string, digest: string, keep: (digest: string) => void): Promise<void> {
  if (!extracted.has(name)) throw invalidArgument(`the archive lacks ${name} (blob ${digest})`);
  keep(digest);
  await context.content.write(digest, createReadStream(extracted.path(name)));
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

const blobName = (digest: string) => `blobs/sha256/${digest.slice(7)}`;

async function loadOciLayout(context: Context, extracted: Extracted, keep: (digest: string) => void): Promise<{ images: ImageRow[]; names: string[] }> {
  const index = parseManifest(await readFile(extracted.path('index.json')));
  if (index.kind !== 'index') throw invalidArgument('index.json of the archive is not an image index');
  const images: ImageRow[] = [];
  const names: string[] = [];
  for (const descriptor of index.index.manifests) {
    await storeBlob(context, extracted, blobName(descriptor.digest), descriptor.digest, keep);
    const top = await context.content.readBytes(descriptor.digest);
    const parsed = parseManifest(top, descriptor.mediaType);
    let single = { digest: descriptor.digest, bytes: top, parsed };
    if (parsed.kind === 'index') {
      const native = selectPlatform(parsed.index, hostPlatform());
      if (native === undefined) throw invalidArgument(`image ${descriptor.digest} in the archive has no manifest for this host's platform`);
      await storeBlob(context, extracted, blobName(native.digest), native.digest, keep);
      const bytes = await context.content.readBytes(native.digest);
      single = { digest: native.digest, bytes, parsed: parseManifest(bytes, native.mediaType) };
    }
    if (single.parsed.kind !== 'manifest') throw invalidArgument(`${single.digest} in the archive is not an image manifest`);
    const manifest = single.parsed.manifest;
    for (const blob of [manifest.config, ...manifest.layers]) await storeBlob(context, extracted, blobName(blob.digest), blob.digest, keep);
    const name = nameOf(descriptor.annotations);
    images.push(
      await context.gcLock.shared(async () =>
        recordImage(context, {
          manifest: { digest: single.digest, bytes: single.bytes, mediaType: single.parsed.mediaType, parsed: manifest },
          index: parsed.kind === 'index' ? { digest: descriptor.digest, bytes: top, mediaType: parsed.mediaType, parsed } : undefined,
          config: parseImageConfig(await context.content.readBytes(manifest.config.digest)),
          configDigest: manifest.config.digest,
          tags: name === undefined ? [] : [name],
          event: { action: 'load', actorId: manifest.config.digest, attributes: name === undefined ? {} : { name } },
        }),
      ),
    );
    if (name !== undefined) names.push(name);
  }
  return { images, names };
}

/** The name an OCI layout gives an image: containerd's full-name annotation, or a full reference as ref.name. */
function nameOf(annotations: Record<string, string> | undefined): string | undefined {
  const full = annotations?.['io.containerd.image.name'] ?? annotations?.['org.opencontainers.image.ref.name'];
  if (full === undefined || !/[/:]/.test(full)) return undefined;
  try {
    const reference = parseReference(full);
    return reference.digest === undefined ? formatReference(reference) : undefined;
  } catch {
    return undefined;
  }
}

/** The classic `docker save` layout: manifest.json names a config and layer tars per image. */
async function loadDockerArchive(context: Context, extracted: Extracted, keep: (digest: string) => void): Promise<{ images: ImageRow[]; names: string[] }> {
  const entries = await readJson<Array<{ Config?: string; RepoTags?: string[] | null; Layers?: string[] }>>(extracted, 'manifest.json');
  if (!Array.isArray(entries) || entries.length === 0) throw invalidArgument('manifest.json of the archive lists no image');
  const images: ImageRow[] = [];
  const names: string[] = [];
  for (const entry of entries) {
    if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) throw invalidArgument('manifest.json of the archive has an entry without Config or Layers');
    const configName = normalize(entry.Config);
    if (!extracted.has(configName)) throw invalidArgument(`the archive lacks ${entry.Config}`);
    const configDigest = await fileDigest(extracted.path(configName));
    await storeBlob(context, extracted, configName, configDigest, keep);
    const config = parseImageConfig(await context.content.readBytes(configDigest));
    if (config.rootfs.diff_ids.length !== entry.Layers.length) {
      throw invalidArgument(`the config of ${entry.RepoTags?.[0] ?? configDigest} lists ${config.rootfs.diff_ids.length} layers, manifest.json ${entry.Layers.length}`);
    }
    const layers: Manifest['layers'] = [];
    for (const [position, layerName] of entry.Layers.entries()) {
      const name = normalize(layerName);
      if (!extracted.has(name)) throw invalidArgument(`the archive lacks ${layerName}`);
      const digest = await fileDigest(extracted.path(name));
      const gzip = compressionOf(await readFile(extracted.path(name))) === 'gzip';
      if (!gzip && digest !== config.rootfs.diff_ids[position]) {
        throw invalidArgument(`layer ${layerName} does not match the config's diff id ${config.rootfs.diff_ids[position]}`);
      }
      await storeBlob(context, extracted, name, digest, keep);
      layers.push({ mediaType: gzip ? MEDIA_TYPES.ociLayerGzip : MEDIA_TYPES.ociLayer, digest, size: (await context.content.size(digest))! });
    }
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: MEDIA_TYPES.ociConfig, digest: configDigest, size: (await context.content.size(configDigest))! },
      layers,
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const tags = (entry.RepoTags ?? []).map((tag) => formatReference(parseReference(tag)));
    images.push(
      await context.gcLock.shared(async () => {
        const written = await context.content.writeBytes(bytes);
        return recordImage(context, {
          manifest: { digest: written.digest, bytes, mediaType: MEDIA_TYPES.ociManifest, parsed: manifest },
          config,
          configDigest,
          tags,
          event: { action: 'load', actorId: configDigest, attributes: tags.length === 0 ? {} : { name: tags.join(',') } },
        });
      }),
    );
    names.push(...tags);
  }
  return { images, names };
}

