import { join } from 'node:path';

/** A volume's directory under the volumes root, and in it `_data`, what containers see (Docker's layout). */
export function volumePaths(root: string, name: string): { dir: string; data: string } {
  const dir = join(root, name);
  return { dir, data: join(dir, '_data') };
}
