import { closeSync, constants, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack, type Header, type Pack } from 'tar-stream';

/** A file of a tree being archived: where it is, its name in the archive, and its lstat. */
export interface TreeFile {
  path: string;
  name: string;
  stats: Stats;
}

/** One tar entry; a regular file's content is read from `content` when the entry is written. */
export interface TarEntry {
  header: Partial<Header> & Pick<Header, 'name'>;
  content?: string;
}

/** The tree at `path` as a tar, its top named `name`; an empty name archives only what it holds. */
export function packTree(path: string, name: string): Readable {
  return packEntries(entriesOf(walkTree(path, name)));
}

/**
 * Every file under `path`, the top first unless `name` is empty, depth first and each directory's
 * names sorted, so that the same tree always gives the same archive (and the same diff id). A file
 * that disappears during the walk is left out, as `docker export` does.
 */
export async function* walkTree(path: string, name: string): AsyncGenerator<TreeFile> {
  // Synchronous calls: see readSmallFile.
  const stats = syncOrMissing(() => lstatSync(path));
  if (stats === undefined) return;
  if (name !== '') yield { path, name, stats };
  if (!stats.isDirectory()) return;
  for (const child of (syncOrMissing(() => readdirSync(path)) ?? []).sort()) {
    yield* walkTree(join(path, child), name === '' ? child : `${name}/${child}`);
  }
}

/**
 * The tar entry for a file, or undefined for a socket (which a tar cannot hold). A regular file with
 * several links seen before under another name becomes a hard link to that name, so that `links`
 * (device:inode to first name) must span one archive.
 */
export async function entryOf(file: TreeFile, links: Map<string, string>): Promise<TarEntry | undefined> {
  const { path, name, stats } = file;
  // The whole st_mode, not only the permissions: tar-stream masks it, and would turn a mode of 0 into 0644.
  const header = { name, mode: stats.mode, uid: stats.uid, gid: stats.gid, mtime: stats.mtime };
  if (stats.isDirectory()) return { header: { ...header, name: `${name}/`, type: 'directory' } };
  if (stats.isSymbolicLink()) return { header: { ...header, type: 'symlink', linkname: readlinkSync(path) } };
  if (stats.isCharacterDevice() || stats.isBlockDevice()) {
    return { header: { ...header, type: stats.isCharacterDevice() ? 'character-device' : 'block-device', ...deviceNumbers(stats.rdev) } };
  }
  if (stats.isFIFO()) return { header: { ...header, type: 'fifo' } };
  if (!stats.isFile()) return undefined;
  if (stats.nlink > 1) {
    const key = `${stats.dev}:${stats.ino}`;
    const first = links.get(key);
    if (first !== undefined) return { header: { ...header, type: 'link', linkname: first } };
    links.set(key, name);
  }
  return { header: { ...header, type: 'file', size: stats.size }, content: path };
}

/** The tar of the entries, written as the reader asks for it; a failure ends the stream with the error. */
export function packEntries(entries: AsyncIterable<TarEntry>): Readable {
  const archive = pack();
  void (async () => {
    try {
      for await (const entry of entries) await writeEntry(archive, entry);
      archive.finalize();
    } catch (err) {
      archive.destroy(err as Error);
    }
  })();
  return Readable.from(archive, { objectMode: false });
}

async function* entriesOf(files: AsyncIterable<TreeFile>): AsyncGenerator<TarEntry> {
  const links = new Map<string, string>();
  for await (const file of files) {
    const entry = await entryOf(file, links);
    if (entry !== undefined) yield entry;
  }
}

/** Files up to this size are read whole rather than streamed. */
const WHOLE_READ_BYTES = 1024 * 1024;

async function writeEntry(archive: Pack, { header, content }: TarEntry): Promise<void> {
  if (content === undefined || !header.size) {
    await new Promise<void>((resolve, reject) => archive.entry(header, '', (err) => (err ? reject(err) : resolve())));
    return;
  }
  if (header.size <= WHOLE_READ_BYTES) {
    const buffer = readSmallFile(content, header.size);
    await new Promise<void>((resolve, reject) => archive.entry(header, buffer, (err) => (err ? reject(err) : resolve())));
    return;
  }
  // O_NOFOLLOW: the walk saw a file here, and a symlink swapped in since must not be read through.
  const handle = await open(content, constants.O_RDONLY | constants.O_NOFOLLOW);
  // Only the size the header promised: a file that grows while it is read is cut there.
  const data = handle.createReadStream({ start: 0, end: header.size - 1 });
  try {
    await new Promise<void>((resolve, reject) => {
      const sink = archive.entry(header, (err) => (err ? reject(err) : resolve()));
      // The sink fails too (a file that shrank while read): unheard, its error would end the process.
      sink.once('error', reject);
      data.once('error', reject);
      data.pipe(sink as unknown as NodeJS.WritableStream);
    });
  } finally {
    data.destroy();
  }
}

/**
 * A small file in one synchronous read: a stream per file, or even a round trip through libuv's
 * thread pool per call, costs more than the read itself, and a build context or a layer has many.
 */
function readSmallFile(path: string, size: number): Buffer {
  // O_NOFOLLOW: the walk saw a file here, and a symlink swapped in since must not be read through.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buffer = Buffer.alloc(size);
    for (let offset = 0; offset < size; ) {
      const bytesRead = readSync(fd, buffer, offset, size - offset, offset);
      if (bytesRead === 0) throw new Error(`${path} shrank while it was archived`);
      offset += bytesRead;
    }
    return buffer;
  } finally {
    closeSync(fd);
  }
}

/** Linux's dev_t split as glibc's major() and minor() do. */
function deviceNumbers(rdev: number): { devmajor: number; devminor: number } {
  const high = Math.floor(rdev / 2 ** 32);
  const low = rdev >>> 0;
  return { devmajor: ((low >>> 8) & 0xfff) | (high & 0xfffff000), devminor: (low & 0xff) | ((low >>> 12) & 0xfff00) };
}

/** A synchronous call's result, or undefined when what it looks at is not there. */
function syncOrMissing<T>(call: () => T): T | undefined {
  try {
    return call();
  } catch (err) {
    return ignoreMissing(err as NodeJS.ErrnoException);
  }
}

/** For a .catch() after lstat and the like: what is not there is undefined, any other failure stands. */
export function ignoreMissing(err: NodeJS.ErrnoException): undefined {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
  throw err;
}
