import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The bytes a directory's content takes on disk (du), links not followed; 0 for one that is gone. */
export async function diskUsage(path: string): Promise<number> {
  // du still prints its total when a file vanishes during the walk, and exits 1.
  const { stdout } = await run('du', ['-s', '-B1', path]).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const total = Number(stdout.split('\t', 1)[0]);
  return Number.isFinite(total) && stdout !== '' ? total : 0;
}
