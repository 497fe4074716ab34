import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { ignoreMissing, packTree, unpackTar } from '../../../libs/archive';
import { invalidArgument, notFound } from '../../../libs/errors';

/** Linux's limit on the symlinks one lookup follows (MAXSYMLINKS) before it gives up with ELOOP. */
const MAX_SYMLINKS = 40;

/**
 * The host path of a path in a container, looked up as the container itself would see it: every
 * symlink, absolute or relative, is followed within `root`, and ".." stops at the root, so neither a
 * path nor a link planted in the container can lead to the host's files (CVE-2018-15664 and its
 * kind). A symlink as the last component is followed only with `followLast`, or when the path ends
 * in "/" or "/.". A path that does not exist is not_found. A running container can change its links
 * between this lookup and its use: copy from a paused container, as Docker does.
 */
export async function resolveInRoot(root: string, path: string, options: { followLast?: boolean } = {}): Promise<string> {
  const resolved: string[] = [];
  const pending = path.split('/').reverse();
  let links = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const current = join(root, ...resolved, part);
    const stats = await lstat(current).catch((err: NodeJS.ErrnoException) => {
      // A name longer than Linux takes (255 bytes, or 4096 for the path) is the caller's, not a failure here.
      if (err.code === 'ENAMETOOLONG') throw invalidArgument(`a name too long for Linux in the path "${path}"`);
      return ignoreMissing(err);
    });
    if (stats === undefined) throw notFound(`no such file or directory in the container: "${path}"`);
    const last = pending.length === 0;
    if (stats.isSymbolicLink() && (!last || options.followLast)) {
      if (++links > MAX_SYMLINKS) throw invalidArgument(`too many levels of symbolic links in "${path}"`);
      const target = await readlink(current);
      if (target.startsWith('/')) resolved.length = 0;
      pending.push(...target.split('/').reverse());
      continue;
    }
    if (!last && !stats.isDirectory()) throw notFound(`"${path}" in the container goes through "/${[...resolved, part].join('/')}", which is not a directory`);
    resolved.push(part);
  }
  return join(root, ...resolved);
}

/**
 * `docker cp CONTAINER:PATH -`: a tar of what is at the path, named as the path names it, not as its
 * links do. A symlink is archived as itself unless the path ends in "/" or "/."; "DIR/." (and "/")
 * give the directory's contents, named relative to it.
 */
export async function copyOut(rootDir: string, pathInContainer: string): Promise<Readable> {
  return packTree(await resolveInRoot(rootDir, pathInContainer), archiveName(pathInContainer));
}

/**
 * `docker cp - CONTAINER:DIR`: unpacks a tar into a directory of the container, found as
 * resolveInRoot finds it (a symlink to a directory is followed, within the root). The entries keep
 * to that directory by the rules layers are unpacked with (no climbing out, nothing written through
 * a symlink, hard links only to files inside); as Docker's cp does by default, a directory and a
 * non-directory never replace each other. Owners, modes and times are the tar's.
 */
export async function copyIn(rootDir: string, destDirInContainer: string, tar: Readable): Promise<void> {
  const destination = await resolveInRoot(rootDir, destDirInContainer, { followLast: true });
  if (!(await lstat(destination)).isDirectory()) throw invalidArgument(`"${destDirInContainer}" in the container is not a directory`);
  await unpackTar(tar, destination, { gzip: false, archive: 'copy' });
}

/** The name a copy of the path gets in the tar; empty for a directory's contents. */
function archiveName(path: string): string {
  if (path === '.' || path.endsWith('/.')) return '';
  return posix.basename(posix.normalize(`/${path}`));
}
