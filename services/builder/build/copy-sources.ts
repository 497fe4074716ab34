import { lstat, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { minimatch } from 'minimatch';
import { entryOf, walkTree, type TarEntry } from '../../../libs/archive';
import { invalidArgument } from '../../../libs/errors';

/** A file or directory to copy: where it is on the builder's disk, and whether .dockerignore leaves out a path under it. */
export interface CopySource {
  path: string;
  /** Relative paths under the source ("" for itself) that are left out. */
  excluded(relative: string): boolean;
}

export interface CopyOptions {
  /** The destination in the image, absolute. */
  destination: string;
  /** The destination is a directory: several sources, a directory source, or a trailing "/". */
  intoDirectory: boolean;
  owner?: { uid: number; gid: number };
  /** --chmod, for files and directories alike. */
  mode?: number;
  /** Keep the owners the sources have (ADD's archives), instead of root. */
  keepOwners: boolean;
}

const EPOCH = new Date(0);

/**
 * The layer's entries for COPY and ADD: a directory source's contents go into the destination, a
 * file goes to the destination (or into it, as a directory). Owners are root unless --chown (or an
 * archive's own), times are the epoch, so that the same files always give the same layer. Parent
 * directories are not written: the image's own stay as they are, missing ones are made.
 */
export async function* copyEntries(sources: CopySource[], options: CopyOptions): AsyncGenerator<TarEntry> {
  const links = new Map<string, string>();
  const destination = options.destination.replace(/^\/+/, '').replace(/\/+$/, '');
  for (const source of sources) {
    const stats = await lstat(source.path);
    const top = stats.isDirectory() ? destination : options.intoDirectory ? posix.join(destination, posix.basename(source.path)) : destination;
    for await (const file of walkTree(source.path, top)) {
      const relative = posix.relative(top, file.name);
      if (relative === '' && stats.isDirectory()) continue; // the destination directory itself stays as the image has it
      if (source.excluded(relative)) continue;
      const entry = await entryOf(file, links);
      if (entry === undefined) continue;
      const owner = options.keepOwners ? {} : { uid: options.owner?.uid ?? 0, gid: options.owner?.gid ?? 0 };
      const mode = options.mode !== undefined && entry.header.type !== 'symlink' ? { mode: (entry.header.mode! & ~0o7777) | options.mode } : {};
      yield { ...entry, header: { ...entry.header, ...owner, ...mode, mtime: EPOCH } };
    }
  }
}

/** Docker's wildcards in a source: `*`, `?` and `[...]`, matched against the context's paths. */
export function hasWildcards(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** The context's paths (relative, "/"-separated) that a wildcard pattern matches, sorted. */
export async function matchContext(root: string, pattern: string): Promise<string[]> {
  const depth = pattern.split('/').length;
  const found: string[] = [];
  const walk = async (dir: string, relative: string, level: number) => {
    for (const name of (await readdir(dir)).sort()) {
      const path = relative === '' ? name : `${relative}/${name}`;
      if (level === depth) {
        if (minimatch(path, pattern, { dot: true })) found.push(path);
      } else if ((await lstat(join(dir, name))).isDirectory()) await walk(join(dir, name), path, level + 1);
    }
  };
  await walk(root, '', 1);
  return found;
}

/** --chown as numbers: "uid", "uid:gid", and "root"; other names need the image's passwd file. */
export function numericOwner(chown: string | undefined, line: number): { uid: number; gid: number } | undefined {
  if (chown === undefined || chown === '') return undefined;
  const [user = '', group = user] = chown.split(':');
  const id = (text: string) => (text === 'root' ? 0 : /^\d+$/.test(text) ? Number(text) : NaN);
  const uid = id(user);
  const gid = id(group);
  if (Number.isNaN(uid) || Number.isNaN(gid)) throw invalidArgument(`Dockerfile line ${line}: --chown=${chown}: give numeric ids (uid:gid) or root`);
  return { uid, gid };
}

/** --chmod as an octal mode. */
export function octalMode(chmod: string | undefined, line: number): number | undefined {
  if (chmod === undefined || chmod === '') return undefined;
  if (!/^[0-7]{3,4}$/.test(chmod)) throw invalidArgument(`Dockerfile line ${line}: --chmod=${chmod}: give an octal mode such as 0755`);
  return parseInt(chmod, 8);
}
