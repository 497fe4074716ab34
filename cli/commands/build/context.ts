import { createHash } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { entryOf, packEntries, walkTree, type TarEntry, type TreeFile } from '../../../libs/archive';
import { readDockerignore } from '../../../libs/dockerignore';
import type { builder } from '../../../libs/proto';

/** The build context as the client has it: what it sends of the directory, and under which key. */
export interface LocalContext {
  /** Names this directory on this host, so that the builder can keep what it received of it. */
  key: string;
  /** Every entry it sends, each directory before what it holds. */
  manifest: builder.ContextEntry[];
  /** The tar the builder asks for: every directory and symlink, and the regular files it names. */
  archive(paths: string[]): Readable;
}

/**
 * The context directory without what .dockerignore leaves out (the Dockerfile and .dockerignore
 * always go, as Docker sends them).
 */
export async function readContext(dir: string, dockerfile: string | undefined): Promise<LocalContext> {
  const ignored = await readDockerignore(dir, dockerfile);
  const always = new Set(['.dockerignore', dockerfile ?? 'Dockerfile']);
  const files: TreeFile[] = [];
  for await (const file of walkTree(dir, '')) {
    // An excluded directory still goes through: .dockerignore may let some of its files back in ("!dir/keep").
    if (!always.has(file.name) && ignored(file.name) && !file.stats.isDirectory()) continue;
    if (file.stats.isSocket()) continue;
    files.push(file);
  }
  return {
    key: createHash('sha256').update(`${hostname()}\0${await realpath(dir)}`).digest('hex'),
    manifest: files.map(manifestEntry),
    archive: (paths) => packEntries(requested(files, new Set(paths))),
  };
}

function manifestEntry({ path, name, stats }: TreeFile): builder.ContextEntry {
  return {
    path: name,
    mode: stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.isFile() ? stats.size : 0,
    mtimeUs: Math.round(stats.mtimeMs * 1000),
    ctimeUs: Math.round(stats.ctimeMs * 1000),
    inode: stats.ino,
    linkTarget: stats.isSymbolicLink() ? readlinkSync(path) : '',
  };
}

async function* requested(files: TreeFile[], paths: Set<string>): AsyncGenerator<TarEntry> {
  for (const file of files) {
    if (file.stats.isFile() && !paths.has(file.name)) continue;
    // No hard links: the file one would name may not be in this tar; each goes as a file of its own.
    const entry = await entryOf(file, new Map());
    if (entry !== undefined) yield entry;
  }
}

/** The Dockerfile's path relative to the context, or undefined when it lies outside (then it is sent as text). */
export function dockerfileInContext(dir: string, file: string): string | undefined {
  const path = relative(resolve(dir), resolve(file));
  return path.startsWith('..') || isAbsolute(path) ? undefined : path;
}
