import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A directory tree as lines of text, one per file, root first: name, kind, mode, owner, and the
 * content's digest or the link's target, so that two trees compare with one deepEqual.
 */
export function treeListing(root: string): string[] {
  const lines: string[] = [];
  const walk = (path: string, name: string) => {
    const stats = lstatSync(path);
    const mode = (stats.mode & 0o7777).toString(8);
    const owner = `${stats.uid}:${stats.gid}`;
    if (stats.isSymbolicLink()) lines.push(`${name} link ${owner} -> ${readlinkSync(path)}`);
    else if (stats.isDirectory()) {
      lines.push(`${name}/ dir ${mode} ${owner}`);
      for (const child of readdirSync(path).sort()) walk(join(path, child), name === '.' ? child : `${name}/${child}`);
    } else lines.push(`${name} file ${mode} ${owner} links=${stats.nlink} ${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16)}`);
  };
  walk(root, '.');
  return lines;
}
