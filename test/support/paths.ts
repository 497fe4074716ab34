import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository's root (the folder with proto/buf.yaml), from anywhere under it or under dist/. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'proto', 'buf.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root');
    dir = parent;
  }
  return dir;
}

/** The built `berth` command. */
export function berthBin(): string {
  return join(repoRoot(), 'dist', 'bin', 'berth.mjs');
}

/** A built service's entry point. */
export function serviceEntry(service: string): string {
  return join(repoRoot(), 'dist', 'services', service, 'main.js');
}
