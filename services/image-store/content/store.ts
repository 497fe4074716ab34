import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArgument, notFound } from '../../../libs/errors';
import { assertDigest } from './digest';

export interface WriteResult {
  digest: string;
  size: number;
  /** The store had the blob already: the data given was not kept. */
  existed: boolean;
}

export interface WriteOptions {
  /** The size the blob must have, when known. */
  size?: number;
  /** Called with the bytes written so far, for progress. */
  onProgress?: (bytes: number) => void;
}

/**
 * Blobs by sha256 under root/blobs/sha256/<hex>. A blob is written to root/ingest/ while its digest
 * is computed, and renamed into place only when digest and size match: a reader never sees a partial
 * or wrong blob, and an interrupted write leaves nothing visible. Writes of one digest at once are
 * deduplicated: the later ones wait for the first and keep nothing of their own.
 */
export class ContentStore {
  private readonly writing = new Map<string, Promise<WriteResult>>();

  constructor(readonly root: string) {}

  async init(): Promise<void> {
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
    // What is left in ingest/ belongs to writes that died with an earlier process.
    await rm(join(this.root, 'ingest'), { recursive: true, force: true });
    await mkdir(join(this.root, 'ingest'), { recursive: true, mode: 0o700 });
  }

  path(digest: string): string {
    assertDigest(digest);
    return join(this.root, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  /** The bytes of every blob the store holds. */
  async totalBytes(): Promise<number> {
    const dir = join(this.root, 'blobs', 'sha256');
    const sizes = await Promise.all((await readdir(dir)).map((name) => stat(join(dir, name)).then((stats) => stats.size, () => 0)));
    return sizes.reduce((sum, size) => sum + size, 0);
  }

  /** The blob's size, or undefined when the store does not have it. */
  async size(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(digest))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Stores data that must have the given digest; the source is consumed, or destroyed if not needed. */
  async write(digest: string, source: Readable | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<WriteResult> {
    assertDigest(digest);
    const existing = await this.size(digest);
    if (existing !== undefined) {
      discard(source);
      return { digest, size: existing, existed: true };
    }
    const running = this.writing.get(digest);
    if (running !== undefined) {
      const first = await running.catch(() => undefined);
      if (first !== undefined) {
        discard(source);
        return { ...first, existed: true };
      }
    }
    const write = this.ingest(digest, source, options);
    this.writing.set(digest, write);
    try {
      return await write;
    } finally {
      if (this.writing.get(digest) === write) this.writing.delete(digest);
    }
  }

  /** Stores bytes in memory (manifests, configs), returning their digest. */
  async writeBytes(data: Uint8Array, expectedDigest?: string): Promise<WriteResult> {
    const digest = expectedDigest ?? `sha256:${createHash('sha256').update(data).digest('hex')}`;
    return this.write(digest, Readable.from([data]), { size: data.length });
  }

  /** A stream of the blob, or of length bytes from offset. */
  async read(digest: string, range: { offset?: number; length?: number } = {}): Promise<{ stream: Readable; size: number }> {
    const size = await this.size(digest);
    if (size === undefined) throw notFound(`blob ${digest} not found`);
    const offset = range.offset ?? 0;
    if (offset < 0 || offset > size) throw invalidArgument(`offset ${offset} is outside blob ${digest} of ${size} bytes`);
    if (range.length !== undefined && range.length < 0) throw invalidArgument(`length ${range.length} is negative: give 0 for the rest of the blob`);
    const end = range.length === undefined || range.length === 0 ? size : Math.min(size, offset + range.length);
    if (end === offset) return { stream: Readable.from([]), size };
    return { stream: createReadStream(this.path(digest), { start: offset, end: end - 1 }), size };
  }

  async readBytes(digest: string): Promise<Buffer> {
    const { stream } = await this.read(digest);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async delete(digest: string): Promise<void> {
    await unlink(this.path(digest)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Every blob's digest. */
  async list(): Promise<string[]> {
    const names = await readdir(join(this.root, 'blobs', 'sha256'));
    return names.filter((name) => /^[a-f0-9]{64}$/.test(name)).map((name) => `sha256:${name}`);
  }

  private async ingest(digest: string, source: Readable | AsyncIterable<Uint8Array>, options: WriteOptions): Promise<WriteResult> {
    const temporary = join(this.root, 'ingest', `${digest.slice(7, 19)}-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    // Opened before streaming, so that the clean-up below always finds the file: a write stream
    // opens its file asynchronously, and one that fails early would create it after the removal.
    const file = await open(temporary, 'wx', 0o644);
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            size += chunk.length;
            if (options.size !== undefined && size > options.size) {
              throw invalidArgument(`blob ${digest} is larger than its ${options.size} bytes`);
            }
            options.onProgress?.(size);
            yield chunk;
          }
        },
        file.createWriteStream(),
      );
      const actual = `sha256:${hash.digest('hex')}`;
      if (options.size !== undefined && size !== options.size) {
        throw invalidArgument(`blob ${digest} is truncated: ${size} of ${options.size} bytes`);
      }
      if (actual !== digest) throw invalidArgument(`blob content does not match its digest: expected ${digest}, got ${actual}`);
      await fsync(temporary);
      await rename(temporary, this.path(digest));
      return { digest, size, existed: false };
    } catch (err) {
      await file.close().catch(() => undefined);
      await rm(temporary, { force: true });
      throw err;
    }
  }
}

async function fsync(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function discard(source: Readable | AsyncIterable<Uint8Array>): void {
  if ('destroy' in source && typeof source.destroy === 'function') source.destroy();
}
