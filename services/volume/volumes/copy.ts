import { execFile } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { failedPrecondition } from '../../../libs/errors';

const run = promisify(execFile);

/**
 * Copies a directory's content into another with `cp -a`: owners, modes, times, xattrs, hard links
 * and symlinks (copied as links, never followed). A failed copy leaves the target empty again.
 */
export async function copyTree(source: string, target: string): Promise<void> {
  try {
    await run('cp', ['-a', '--', `${source}/.`, `${target}/`]);
  } catch (err) {
    await emptyDirectory(target);
    throw failedPrecondition(`cannot copy ${source}: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`);
  }
}

/** Removes what a directory holds, keeping the directory (a volume's data directory may be a mount). */
export async function emptyDirectory(path: string): Promise<void> {
  for (const name of await readdir(path)) await rm(join(path, name), { recursive: true, force: true });
}
