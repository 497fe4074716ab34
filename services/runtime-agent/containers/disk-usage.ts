import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes used by the files under a directory (symlinks not followed; missing counts as 0). */
export async function du(path: string): Promise<number> {
  try {
    const stats = await lstat(path);
    if (!stats.isDirectory()) return stats.size;
    let total = 0;
    for (const name of await readdir(path)) total += await du(join(path, name));
    return total;
  } catch {
    return 0;
  }
}
