import { createHash } from 'node:crypto';
import { constants, lstatSync, readdirSync, type Stats } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { unpackTar } from '../../../libs/archive';
import { invalidArgument } from '../../../libs/errors';

/** One entry of the client's context, as its manifest describes it (see ContextEntry in the proto). */
export interface ContextEntry {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeUs: number;
  ctimeUs: number;
  inode: number;
  linkTarget: string;
}

/** How the client sends its context: one tar, or (under a key) a manifest and then the files asked for. */
export type ContextUpload =
  | { kind: 'tar'; tar: AsyncIterable<Uint8Array> }
  | { kind: 'sync'; key: string; manifest: ContextEntry[]; files(paths: string[]): Promise<AsyncIterable<Uint8Array>> };

/** A context directory a build works in, given back when the build ends. */
export interface ClaimedContext {
  dir: string;
  /** Something wrote into the directory (a writable RUN bind mount): the next build receives it whole. */
  forget(): Promise<void>;
  release(): void;
}

/** How many contexts are kept; beyond it the least recently used go. */
const KEPT_CONTEXTS = 16;
/** File digests remembered, by path and lstat, before the memory starts over. */
const REMEMBERED_DIGESTS = 100_000;

/**
 * Build contexts kept between builds under the client's key, as BuildKit keeps a local source: a
 * rebuild of the same directory sends only the files that changed since. A key one build holds is
 * not shared: a second build of it at the same time receives its context whole, in its own directory.
 */
export class ContextStore {
  private readonly inUse = new Set<string>();
  private readonly digests = new Map<string, string>();

  constructor(private readonly root: string) {}

  /** Receives an upload into a directory: the one kept for its key, else `fresh`. */
  async receive(upload: ContextUpload, fresh: string): Promise<ClaimedContext> {
    if (upload.kind === 'tar') {
      await mkdir(fresh, { recursive: true });
      await unpackTar(Readable.from(upload.tar), fresh, { gzip: false, archive: 'copy' });
      return { dir: fresh, forget: async () => undefined, release: () => undefined };
    }
    const manifest = validManifest(upload.manifest);
    const id = createHash('sha256').update(upload.key).digest('hex').slice(0, 32);
    if (this.inUse.has(id)) {
      await syncContext(fresh, undefined, manifest, upload.files);
      return { dir: fresh, forget: async () => undefined, release: () => undefined };
    }
    this.inUse.add(id);
    try {
      const kept = join(this.root, id);
      const stateFile = `${kept}.json`;
      const previous = await readManifest(stateFile);
      // Gone until the directory matches the new manifest: a sync cut short is never trusted.
      await rm(stateFile, { force: true });
      await syncContext(join(kept, 'context'), previous, manifest, upload.files);
      await writeFile(stateFile, JSON.stringify([...manifest.values()]));
      await this.dropLeastRecentlyUsed();
      return { dir: join(kept, 'context'), forget: () => rm(stateFile, { force: true }), release: () => this.inUse.delete(id) };
    } catch (err) {
      this.inUse.delete(id);
      throw err;
    }
  }

  /** A file's sha256, remembered while its lstat (inode, size, times) stays the same. */
  async fileDigest(path: string, stats: Stats): Promise<string> {
    const key = `${path}\0${stats.ino}\0${stats.size}\0${stats.mtimeMs}\0${stats.ctimeMs}`;
    let digest = this.digests.get(key);
    if (digest === undefined) {
      digest = createHash('sha256').update(await readFile(path)).digest('hex');
      if (this.digests.size >= REMEMBERED_DIGESTS) this.digests.clear();
      this.digests.set(key, digest);
    }
    return digest;
  }

  /** `docker builder prune`: every kept context no build holds; the bytes they took. */
  async prune(): Promise<number> {
    let freed = 0;
    for (const id of await this.keptIds()) {
      if (this.inUse.has(id)) continue;
      freed += diskUsage(join(this.root, id));
      await this.remove(id);
    }
    return freed;
  }

  private async dropLeastRecentlyUsed(): Promise<void> {
    const ids = await this.keptIds();
    if (ids.length <= KEPT_CONTEXTS) return;
    const used = await Promise.all(ids.map(async (id) => ({ id, at: (await stat(`${join(this.root, id)}.json`).catch(() => undefined))?.mtimeMs ?? 0 })));
    used.sort((a, b) => a.at - b.at);
    for (const { id } of used.slice(0, ids.length - KEPT_CONTEXTS)) if (!this.inUse.has(id)) await this.remove(id);
  }

  private async keptIds(): Promise<string[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    return names.filter((name) => /^[0-9a-f]{32}$/.test(name));
  }

  private async remove(id: string): Promise<void> {
    await rm(`${join(this.root, id)}.json`, { force: true });
    await rm(join(this.root, id), { recursive: true, force: true });
  }
}

/**
 * Makes `dir` hold exactly the manifest's entries: what left or changed kind goes, the client sends
 * its directories and symlinks and the regular files that are new or changed since `previous`, and
 * the result is checked against the manifest (what the client did not send is an error; what it
 * sent beyond the manifest goes).
 */
async function syncContext(dir: string, previous: Map<string, ContextEntry> | undefined, manifest: Map<string, ContextEntry>, files: (paths: string[]) => Promise<AsyncIterable<Uint8Array>>): Promise<void> {
  if (previous === undefined) await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const [path, old] of previous ?? []) {
    const now = manifest.get(path);
    if (now === undefined || kindOf(now.mode) !== kindOf(old.mode) || now.linkTarget !== old.linkTarget) await rm(join(dir, path), { recursive: true, force: true });
  }
  const wanted = [...manifest.values()].filter((entry) => kindOf(entry.mode) === constants.S_IFREG && !unchanged(previous?.get(entry.path), entry)).map((entry) => entry.path);
  await unpackTar(Readable.from(await files(wanted)), dir, { gzip: false, archive: 'copy' });
  await checkAgainst(dir, '', manifest);
}

/** Walks the directory: removes what the manifest lacks, and refuses an entry that is missing or not as described. */
async function checkAgainst(dir: string, prefix: string, manifest: Map<string, ContextEntry>): Promise<void> {
  const present = new Set<string>();
  for (const name of readdirSync(join(dir, prefix))) {
    const path = prefix === '' ? name : `${prefix}/${name}`;
    const entry = manifest.get(path);
    const stats = lstatSync(join(dir, path));
    if (entry === undefined || kindOf(entry.mode) !== kindOf(stats.mode)) {
      await rm(join(dir, path), { recursive: true, force: true });
      continue;
    }
    present.add(path);
    if (stats.isFile() && stats.size !== entry.size) throw invalidArgument(`build context: "${path}" arrived with ${stats.size} bytes, the manifest says ${entry.size}`);
    if (stats.isDirectory()) await checkAgainst(dir, path, manifest);
  }
  for (const path of manifest.keys()) {
    if (posix.dirname(path) === (prefix === '' ? '.' : prefix) && !present.has(path)) throw invalidArgument(`build context: "${path}" is in the manifest but was not sent`);
  }
}

/** The manifest by path, each path relative and inside the context, its parent a directory listed before it. */
function validManifest(entries: ContextEntry[]): Map<string, ContextEntry> {
  const byPath = new Map<string, ContextEntry>();
  for (const entry of entries) {
    const { path } = entry;
    if (path === '' || path.startsWith('/') || posix.normalize(path) !== path || path === '..' || path.startsWith('../')) {
      throw invalidArgument(`build context manifest: "${path}" is not a relative path inside the context`);
    }
    const parent = posix.dirname(path);
    if (parent !== '.' && kindOf(byPath.get(parent)?.mode ?? 0) !== constants.S_IFDIR) {
      throw invalidArgument(`build context manifest: "${path}" comes before its directory "${parent}", or that is not a directory`);
    }
    if (byPath.has(path)) throw invalidArgument(`build context manifest: "${path}" is listed twice`);
    byPath.set(path, entry);
  }
  return byPath;
}

async function readManifest(stateFile: string): Promise<Map<string, ContextEntry> | undefined> {
  const text = await readFile(stateFile, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  return new Map((JSON.parse(text) as ContextEntry[]).map((entry) => [entry.path, entry]));
}

/** A file the client has not touched since it last sent it. */
function unchanged(old: ContextEntry | undefined, now: ContextEntry): boolean {
  return old !== undefined && (['mode', 'uid', 'gid', 'size', 'mtimeUs', 'ctimeUs', 'inode'] as const).every((field) => old[field] === now[field]);
}

function kindOf(mode: number): number {
  return mode & constants.S_IFMT;
}

/** The bytes of regular files under a directory (what pruning it frees, near enough). */
function diskUsage(path: string): number {
  const stats = lstatSync(path, { throwIfNoEntry: false });
  if (stats === undefined) return 0;
  if (!stats.isDirectory()) return stats.isFile() ? stats.size : 0;
  return readdirSync(path).reduce((sum, name) => sum + diskUsage(join(path, name)), 0);
}
