import type { Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { readDockerignore, readOptional } from '../../../libs/dockerignore';
import { invalidArgument, notFound } from '../../../libs/errors';
import type { ContextStore, ContextUpload } from './context-store';

/** The build context on the builder's disk, with the client's .dockerignore applied again. */
export interface BuildContext {
  dir: string;
  /** Whether a path (relative to the context's root, "/"-separated) is left out by .dockerignore. */
  excluded(relativePath: string): boolean;
  /** A file's sha256 (hex), remembered between builds while the file stays the same. */
  fileDigest(path: string, stats: Stats): Promise<string>;
  /** Something wrote into the context (a writable RUN bind mount): the next build receives it whole. */
  forget(): Promise<void>;
}

/**
 * Receives the context with the rules of `docker cp` (no name may leave the directory), into the
 * directory kept for its key or into `fresh`, and reads its .dockerignore (the Dockerfile's own
 * `<Dockerfile>.dockerignore` first, as BuildKit does). The caller releases the directory.
 */
export async function receiveContext(store: ContextStore, upload: ContextUpload, fresh: string, dockerfilePath: string): Promise<BuildContext & { release(): void }> {
  const claimed = await store.receive(upload, fresh);
  try {
    return { ...claimed, excluded: await readDockerignore(claimed.dir, dockerfilePath), fileDigest: (path, stats) => store.fileDigest(path, stats) };
  } catch (err) {
    claimed.release();
    throw err;
  }
}

/** The Dockerfile: given with the request, or read from the context. */
export async function readDockerfile(context: BuildContext, path: string, given: string): Promise<string> {
  if (given !== '') return given;
  const relative = contextPath(path);
  const text = await readOptional(join(context.dir, relative));
  if (text === undefined) throw notFound(`no Dockerfile at "${path}" in the build context`);
  return text;
}

/** A path in the context, "/" and "./" prefixes dropped; one that climbs out is refused as Docker does. */
export function contextPath(path: string): string {
  const normalized = posix.normalize(path.replace(/^\/+/, ''));
  if (normalized === '..' || normalized.startsWith('../')) throw invalidArgument(`forbidden path "${path}": it is outside the build context`);
  return normalized === '.' ? '' : normalized.replace(/\/$/, '');
}
