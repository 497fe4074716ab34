/** A build context's .dockerignore, read as Docker reads it; the client and the builder both apply it. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import createIgnore from '@balena/dockerignore';

/**
 * Whether a path of the context (relative, "/"-separated) is left out: by the Dockerfile's own
 * `<Dockerfile>.dockerignore` when there is one (BuildKit's rule), else by the context's .dockerignore.
 * dockerfilePath is relative to the context; undefined when the Dockerfile is not in it.
 */
export async function readDockerignore(contextDir: string, dockerfilePath: string | undefined): Promise<(path: string) => boolean> {
  const own = dockerfilePath === undefined ? undefined : await readOptional(join(contextDir, `${dockerfilePath}.dockerignore`));
  const rules = own ?? (await readOptional(join(contextDir, '.dockerignore'))) ?? '';
  const ignore = createIgnore().add(rules.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#')));
  return (path) => path !== '' && ignore.ignores(path);
}

/** A file's text, or undefined when there is no such file. */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
