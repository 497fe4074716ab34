import { mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { unpackTar } from '../../../libs/archive';
import { readDockerignore, readOptional } from '../../../libs/dockerignore';
import { invalidArgument, notFound } from '../../../libs/errors';

/** The build context on the builder's disk, with the client's .dockerignore applied again. */
export interface BuildContext {
  dir: string;
  /** Whether a path (relative to the context's root, "/"-separated) is left out by .dockerignore. */
  excluded(relativePath: string): boolean;
}

/**
 * Unpacks the context's tar into dir with the rules of `docker cp` (no name may leave the
 * directory), and reads its .dockerignore (the Dockerfile's own `<Dockerfile>.dockerignore` first,
 * as BuildKit does).
 */
export async function receiveContext(dir: string, tar: AsyncIterable<Uint8Array>, dockerfilePath: string): Promise<BuildContext> {
  await mkdir(dir, { recursive: true });
  await unpackTar(Readable.from(tar), dir, { gzip: false, archive: 'copy' });
  return { dir, excluded: await readDockerignore(dir, dockerfilePath) };
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
