import { invalidArgument, isBerthError, notFound } from '../../../libs/errors';
import { sha256Digest } from '../content';
import { RegistryClient, type Credentials } from '../registry/client';
import type { ImageRow } from '../store/repository';
import { forEachLimit } from './concurrency';
import { recordImage } from './record';
import { shortId, type ImageContext, type ProgressSink } from './context';
import { formatPlatform, parseImageConfig, parseManifest, parsePlatform, selectPlatform, type Manifest, type Parsed } from './manifest';
import { familiarName, formatReference, parseReference, repositoryName, type Reference } from '../../../libs/reference';

export interface PullRequest {
  reference: string;
  /** "os/arch[/variant]"; the host's when empty. */
  platform: string;
  credentials?: Credentials;
}

/** Docker pulls three layers at once by default (max-concurrent-downloads). */
const CONCURRENT_DOWNLOADS = 3;
const DOWNLOAD_ATTEMPTS = 3;
const PULL_LEASE_MS = 6 * 60 * 60 * 1000;
const PROGRESS_INTERVAL_MS = 100;

interface FetchedManifest {
  digest: string;
  bytes: Buffer;
  parsed: Parsed;
}

/**
 * Pulls an image: the manifest (from an index, the host's platform or the one asked for), its config
 * and its layers, each verified against its digest while it streams into the content store; then, in
 * one transaction, the records, the tag and the `pull` event. Blobs written before that commit are
 * leased, so garbage collection leaves them alone.
 */
export async function pullImage(context: ImageContext, request: PullRequest, progress: ProgressSink): Promise<ImageRow> {
  const reference = parseReference(request.reference);
  const platform = parsePlatform(request.platform);
  const client = new RegistryClient({ registry: reference.domain, credentials: request.credentials, insecureRegistries: context.insecureRegistries, timeoutMs: context.registryTimeoutMs });
  const repository = reference.path;
  progress({ id: reference.tag ?? shortId(reference.digest!), status: `Pulling from ${familiarName(repositoryName(reference)).slice(reference.domain === 'docker.io' ? 0 : reference.domain.length + 1)}` });

  const top = await fetchManifest(client, reference, reference.digest ?? reference.tag!, reference.digest);
  let single = top;
  let platformName: string | undefined;
  if (top.parsed.kind === 'index') {
    const chosen = selectPlatform(top.parsed.index, platform);
    if (chosen === undefined) {
      const offered = top.parsed.index.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : 'unknown')).join(', ');
      throw notFound(`${formatReference(reference)} has no image for ${formatPlatform(platform)} (it has: ${offered})`);
    }
    platformName = formatPlatform(chosen.platform!);
    single = await fetchManifest(client, reference, chosen.digest, chosen.digest);
    if (single.parsed.kind !== 'manifest') throw invalidArgument(`${chosen.digest} in the index of ${formatReference(reference)} is not an image manifest`);
  }
  const manifest = (single.parsed as { manifest: Manifest }).manifest;

  const lease = context.leases.acquire(PULL_LEASE_MS);
  try {
    for (const fetched of new Set([top, single])) {
      await context.content.writeBytes(fetched.bytes, fetched.digest);
      lease.add(fetched.digest);
    }
    const configBytes = await downloadSmallBlob(client, repository, manifest.config.digest, manifest.config.size);
    await context.content.writeBytes(configBytes, manifest.config.digest);
    lease.add(manifest.config.digest);
    const config = parseImageConfig(configBytes);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw invalidArgument(`image config of ${formatReference(reference)} lists ${config.rootfs.diff_ids.length} layers, its manifest ${manifest.layers.length}`);
    }

    await forEachLimit(manifest.layers, CONCURRENT_DOWNLOADS, async (layer) => {
      lease.add(layer.digest);
      const id = shortId(layer.digest);
      if ((await context.content.size(layer.digest)) !== undefined) {
        progress({ id, status: 'Already exists' });
        return;
      }
      progress({ id, status: 'Pulling fs layer' });
      await downloadLayer(context, client, repository, layer, progress);
      progress({ id, status: 'Pull complete' });
    });

    const image = await recordImage(context, {
      manifest: { digest: single.digest, bytes: single.bytes, mediaType: single.parsed.mediaType, parsed: manifest },
      index: top === single ? undefined : { digest: top.digest, bytes: top.bytes, mediaType: top.parsed.mediaType, parsed: top.parsed },
      config,
      configDigest: manifest.config.digest,
      tags: reference.tag === undefined ? [] : [formatReference({ ...reference, digest: undefined })],
      repository: repositoryName(reference),
      event: {
        action: 'pull',
        actorId: formatReference(reference),
        attributes: { name: formatReference(reference), ...(platformName ? { platform: platformName } : {}) },
      },
    });
    progress({ id: '', status: `Digest: ${top.digest}` });
    return image;
  } finally {
    lease.release();
  }
}

/** A manifest or index, checked against the digest asked for (or the registry's, or none). */
async function fetchManifest(client: RegistryClient, reference: Reference, target: string, expected?: string): Promise<FetchedManifest> {
  const fetched = await client.getManifest(reference.path, target);
  const digest = sha256Digest(fetched.body);
  const claimed = expected ?? fetched.digest;
  if (claimed !== undefined && claimed.startsWith('sha256:') && claimed !== digest) {
    throw invalidArgument(`manifest ${formatReference(reference)} does not match its digest: expected ${claimed}, got ${digest}`);
  }
  return { digest, bytes: fetched.body, parsed: parseManifest(fetched.body, fetched.mediaType) };
}

async function downloadSmallBlob(client: RegistryClient, repository: string, digest: string, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of await client.getBlob(repository, digest)) {
    length += (chunk as Buffer).length;
    if (length > size) throw invalidArgument(`blob ${digest} is larger than its ${size} bytes`);
    chunks.push(chunk as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  if (sha256Digest(bytes) !== digest) throw invalidArgument(`blob content does not match its digest: expected ${digest}, got ${sha256Digest(bytes)}`);
  return bytes;
}

/** Streams one layer into the content store, verified, with progress; a failed transfer is tried again. */
async function downloadLayer(
  context: ImageContext,
  client: RegistryClient,
  repository: string,
  layer: { digest: string; size: number },
  progress: ProgressSink,
): Promise<void> {
  const id = shortId(layer.digest);
  for (let attempt = 1; ; attempt++) {
    let last = 0;
    try {
      const stream = await client.getBlob(repository, layer.digest);
      await context.content.write(layer.digest, stream, {
        size: layer.size,
        onProgress: (bytes) => {
          const now = Date.now();
          if (now - last < PROGRESS_INTERVAL_MS && bytes < layer.size) return;
          last = now;
          progress({ id, status: 'Downloading', current: bytes, total: layer.size });
        },
      });
      progress({ id, status: 'Download complete' });
      return;
    } catch (err) {
      // A blob that does not match its digest will not match next time either.
      if (attempt >= DOWNLOAD_ATTEMPTS || (isBerthError(err) && err.kind !== 'unavailable')) throw err;
      progress({ id, status: `Retrying in ${attempt} second${attempt === 1 ? '' : 's'}` });
      await new Promise((resolve) => setTimeout(resolve, attempt * 1000));
    }
  }
}
