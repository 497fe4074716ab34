import { isAbsolute, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { entryOf, packEntries, walkTree, type TarEntry } from '../../../libs/archive';
import { readDockerignore } from '../../../libs/dockerignore';

/**
 * The build context as the client sends it: the directory as a tar, without what .dockerignore
 * leaves out (the Dockerfile and .dockerignore always go, as Docker sends them).
 */
export async function contextArchive(dir: string, dockerfile: string | undefined): Promise<Readable> {
  const ignored = await readDockerignore(dir, dockerfile);
  const always = new Set(['.dockerignore', dockerfile ?? 'Dockerfile']);
  return packEntries(filtered(dir, (path) => !always.has(path) && ignored(path)));
}

async function* filtered(dir: string, excluded: (path: string) => boolean): AsyncGenerator<TarEntry> {
  const links = new Map<string, string>();
  for await (const file of walkTree(dir, '')) {
    // An excluded directory still goes through: .dockerignore may let some of its files back in ("!dir/keep").
    if (excluded(file.name) && !file.stats.isDirectory()) continue;
    const entry = await entryOf(file, links);
    if (entry !== undefined) yield entry;
  }
}

/** The Dockerfile's path relative to the context, or undefined when it lies outside (then it is sent as text). */
export function dockerfileInContext(dir: string, file: string): string | undefined {
  const path = relative(resolve(dir), resolve(file));
  return path.startsWith('..') || isAbsolute(path) ? undefined : path;
}
