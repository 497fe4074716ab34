import type { Readable } from 'node:stream';
import { packTree } from '../../../libs/archive';

/**
 * `docker export`: the container's whole filesystem as a tar, named relative to its root. Symlinks
 * are archived as links, never followed; the caller gives a root without /proc and the like mounted.
 */
export function exportFilesystem(rootDir: string): Readable {
  return packTree(rootDir, '');
}
