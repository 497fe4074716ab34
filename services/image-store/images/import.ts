import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { compressionOf } from '../../../libs/archive';
import { invalidArgument } from '../../../libs/errors';
import type { ImageRow } from '../store/repository';
import { applyChanges } from '../../../libs/image-config';
import type { ImageContext } from './context';
import type { GcLock } from './gc';
import { MEDIA_TYPES, parsePlatform } from './manifest';
import { putImage } from './put';

export interface ImportRequest {
  /** A name to give the image; none leaves it dangling, as `docker import` without one does. */
  reference?: string;
  /** Dockerfile instructions for its config (`--change`). */
  changes: string[];
  /** The history comment (`--message`). */
  message: string;
  /** "os/arch[/variant]" the image is for; this host's when empty. */
  platform: string;
}

const IMPORT_LEASE_MS = 60 * 60 * 1000;

/**
 * `docker import`: a root filesystem tarball (plain or gzip) becomes a one-layer image. The layer is
 * stored gzip-compressed; its diff id is the digest of the plain tar.
 */
export async function importImage(context: ImageContext & { gcLock: GcLock }, request: ImportRequest, data: AsyncIterable<Uint8Array>): Promise<ImageRow> {
  const platform = parsePlatform(request.platform);
  const config: Record<string, unknown> = applyChanges({}, request.changes);
  const base = join(context.content.root, 'ingest', `import-${randomUUID()}`);
  const [received, compressed] = [`${base}.in`, `${base}.tar.gz`];
  try {
    await pipeline(data, createWriteStream(received, { mode: 0o600 }));
    const kind = await sniff(received);
    let blob = received;
    if (kind === 'tar') {
      await pipeline(createReadStream(received), createGzip(), createWriteStream(compressed, { mode: 0o600 }));
      blob = compressed;
    }
    const plain = kind === 'gzip' ? createReadStream(received).pipe(createGunzip()) : createReadStream(received);
    const diffId = await digestOf(plain, true);
    const digest = await digestOf(createReadStream(blob), false);
    const size = (await stat(blob)).size;
    const lease = context.leases.acquire(IMPORT_LEASE_MS);
    lease.add(digest);
    try {
      await context.content.write(digest, createReadStream(blob), { size });
      const created = new Date().toISOString();
      const imageConfig = {
        created,
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        config,
        rootfs: { type: 'layers', diff_ids: [diffId] },
        history: [{ created, created_by: 'berth import', ...(request.message ? { comment: request.message } : {}) }],
      };
      const { image } = await putImage(context, {
        config: Buffer.from(JSON.stringify(imageConfig)),
        layers: [{ mediaType: MEDIA_TYPES.ociLayerGzip, digest, size }],
        tags: request.reference ? [request.reference] : [],
        eventAction: 'import',
      });
      return image;
    } finally {
      lease.release();
    }
  } finally {
    await Promise.all([rm(received, { force: true }), rm(compressed, { force: true })]);
  }
}

/** gzip by its magic bytes, a tar by "ustar" at offset 257; anything else is refused. */
async function sniff(path: string): Promise<'gzip' | 'tar'> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(512);
  try {
    await handle.read(head, 0, 512, 0);
  } finally {
    await handle.close();
  }
  if (compressionOf(head) === 'gzip') return 'gzip';
  if (head.subarray(257, 262).toString() === 'ustar') return 'tar';
  throw invalidArgument('the data to import is not a tar archive nor a gzip-compressed one');
}

/** The sha256 of what a stream yields; with checkTar, also that it is a tar. */
async function digestOf(source: Readable, checkTar: boolean): Promise<string> {
  const hash = createHash('sha256');
  let head = Buffer.alloc(0);
  try {
    for await (const chunk of source) {
      if (head.length < 512) head = Buffer.concat([head, chunk as Buffer]).subarray(0, 512);
      hash.update(chunk as Buffer);
    }
  } catch (err) {
    throw invalidArgument(`the data to import cannot be read: ${(err as Error).message}`);
  }
  if (checkTar && head.subarray(257, 262).toString() !== 'ustar') throw invalidArgument('the data to import is not a tar archive');
  return `sha256:${hash.digest('hex')}`;
}
