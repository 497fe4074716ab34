import { execFile } from 'node:child_process';
import { constants, type Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { entryOf, ignoreMissing, packEntries, walkTree, type TarEntry, type TreeFile } from '../../../libs/archive';

const run = promisify(execFile);

const OPAQUE = '.wh..wh..opq';
const WHITEOUT = '.wh.';

/** One line of `docker diff`: A added, C changed, D deleted. */
export interface Change {
  path: string;
  kind: 'A' | 'C' | 'D';
}

/**
 * `docker diff`: what a container changed, from its upper directory and the image's layers below it
 * (lowest first, as mounted). A path the layers show is C when the upper holds it and D when the upper
 * whites it out; anything else in the upper is A. An opaque directory hides the layers' children it
 * does not hold again: each is D. The upper holds every parent of what changed, so parents show as C
 * (or A). Paths are absolute, sorted. Read it from a paused or stopped container.
 */
export async function containerChanges(upperDir: string, lowerDirs: string[]): Promise<Change[]> {
  const files: TreeFile[] = [];
  for await (const file of walkTree(upperDir, '')) files.push(file);
  const directories = files.filter((f) => f.stats.isDirectory()).map((f) => f.name);
  const [opaque, lower] = await Promise.all([opaqueDirectories([upperDir], true), LowerView.open(lowerDirs, ['', ...directories])]);
  const changes: Change[] = [];
  for (const file of files) {
    const shown = await lower.has(file.name);
    if (isWhiteout(file.stats)) {
      if (shown) changes.push({ path: `/${file.name}`, kind: 'D' });
      continue;
    }
    changes.push({ path: `/${file.name}`, kind: shown ? 'C' : 'A' });
    if (opaque.has(file.path)) {
      const kept = new Set(await readdir(file.path));
      for (const child of await lower.children(file.name)) if (!kept.has(child)) changes.push({ path: `/${file.name}/${child}`, kind: 'D' });
    }
  }
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The container's writable layer as an OCI layer (an uncompressed tar) for `commit`: overlay
 * whiteouts become ".wh.NAME" files and opaque directories get their ".wh..wh..opq", as the image
 * spec writes them; hard links within the layer stay links. trusted.overlay.* xattrs, overlayfs's
 * own bookkeeping, are not carried (nor, for now, any other xattr). Read it from a paused or stopped
 * container: the same upper always gives the same bytes, hence the same diff id.
 */
export function writeLayerTar(upperDir: string): Readable {
  return packEntries(layerEntries(upperDir));
}

async function* layerEntries(upperDir: string): AsyncGenerator<TarEntry> {
  const opaque = await opaqueDirectories([upperDir], true);
  const links = new Map<string, string>();
  for await (const file of walkTree(upperDir, '')) {
    if (isWhiteout(file.stats)) {
      yield marker(file, posix.join(posix.dirname(file.name), `${WHITEOUT}${posix.basename(file.name)}`), 0o600);
      continue;
    }
    const entry = await entryOf(file, links);
    if (entry !== undefined) yield entry;
    if (opaque.has(file.path)) yield marker(file, `${file.name}/${OPAQUE}`, file.stats.mode & 0o777);
  }
}

/** An empty file standing for overlay metadata, owned as what it stands for (as Docker writes it). */
function marker(file: TreeFile, name: string, permissions: number): TarEntry {
  const { uid, gid, mtime } = file.stats;
  return { header: { name, type: 'file', mode: constants.S_IFREG | permissions, uid, gid, mtime, size: 0 } };
}

/** overlayfs's whiteout: a character device 0/0. */
function isWhiteout(stats: Stats): boolean {
  return stats.isCharacterDevice() && stats.rdev === 0;
}

/**
 * The image's layers as overlayfs shows them under the container's upper: the top-most layer holding
 * a name decides, a whiteout hides the name in the layers below, an opaque directory hides the
 * directories below it, and a directory merges only with directories.
 */
class LowerView {
  /** By relative name: the layers (top first) whose directory there shows, 'file', or undefined if absent. */
  private readonly lookups = new Map<string, Promise<string[] | 'file' | undefined>>();

  private constructor(
    private readonly layers: string[],
    private readonly opaque: Set<string>,
  ) {}

  /**
   * Opacity is read only for `directories` (those of the upper): every name looked up is in the
   * upper or directly under an opaque directory of it, so only its parents' opacity matters.
   */
  static async open(lowerDirs: string[], directories: string[]): Promise<LowerView> {
    const layers = [...lowerDirs].reverse();
    const candidates: string[] = [];
    for (const layer of layers) {
      for (const directory of directories) {
        const path = join(layer, directory);
        if ((await lstat(path).catch(ignoreMissing))?.isDirectory()) candidates.push(path);
      }
    }
    return new LowerView(layers, await opaqueDirectories(candidates, false));
  }

  async has(name: string): Promise<boolean> {
    return (await this.lookup(name)) !== undefined;
  }

  /** The names the layers show in a directory. */
  async children(name: string): Promise<string[]> {
    const layers = await this.lookup(name);
    if (!Array.isArray(layers)) return [];
    const names = new Set((await Promise.all(layers.map((layer) => readdir(join(layer, name))))).flat());
    const shown: string[] = [];
    for (const child of [...names].sort()) if (await this.has(posix.join(name, child))) shown.push(child);
    return shown;
  }

  private lookup(name: string): Promise<string[] | 'file' | undefined> {
    let found = this.lookups.get(name);
    if (found === undefined) {
      found = this.resolve(name);
      this.lookups.set(name, found);
    }
    return found;
  }

  private async resolve(name: string): Promise<string[] | 'file' | undefined> {
    const above = name === '' ? this.layers : await this.lookup(posix.dirname(name) === '.' ? '' : posix.dirname(name));
    if (!Array.isArray(above)) return undefined;
    const layers: string[] = [];
    for (const layer of above) {
      const stats = await lstat(join(layer, name)).catch(ignoreMissing);
      if (stats === undefined) continue;
      if (isWhiteout(stats)) break;
      if (!stats.isDirectory()) return layers.length === 0 ? 'file' : layers;
      layers.push(layer);
      if (this.opaque.has(join(layer, name))) break;
    }
    return layers.length === 0 ? undefined : layers;
  }
}

/**
 * Which of the paths (and, if recursive, of what they hold) are opaque directories. getfattr reads
 * many paths per process: one per directory would cost seconds on a large upper.
 */
async function opaqueDirectories(paths: string[], recursive: boolean): Promise<Set<string>> {
  const opaque = new Set<string>();
  for (const batch of batches(paths)) {
    const args = [...(recursive ? ['-R', '-P'] : []), '-h', '-d', '-m', '^trusted\\.overlay\\.opaque$', '-e', 'text', '--absolute-names', '--', ...batch];
    const { stdout } = await run('getfattr', args, { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
    let file: string | undefined;
    for (const line of stdout.toString('latin1').split('\n')) {
      if (line.startsWith('# file: ')) file = unescapeName(line.slice('# file: '.length));
      else if (line === 'trusted.overlay.opaque="y"' && file !== undefined) opaque.add(file);
    }
  }
  return opaque;
}

/** getfattr writes a name's unprintable bytes (and backslashes) as \ooo; `line` holds bytes as latin1. */
function unescapeName(line: string): string {
  return Buffer.from(line.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))), 'latin1').toString('utf8');
}

/** Paths in groups that stay well within the kernel's limit on one command's arguments. */
function* batches(paths: string[], limit = 64 * 1024): Generator<string[]> {
  let batch: string[] = [];
  let size = 0;
  for (const path of paths) {
    if (batch.length > 0 && size + path.length > limit) {
      yield batch;
      batch = [];
      size = 0;
    }
    batch.push(path);
    size += path.length + 1;
  }
  if (batch.length > 0) yield batch;
}
