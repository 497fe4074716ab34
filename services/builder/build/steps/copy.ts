import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, open, readlink } from 'node:fs/promises';
import { basename, join, posix, relative as relativePath } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { compressionOf, unpackTar, walkTree } from '../../../../libs/archive';
import { invalidArgument } from '../../../../libs/errors';
import type { ResolvedInstruction } from '../../dockerfile';
import { contextPath } from '../context';
import { copyEntries, hasWildcards, matchContext, numericOwner, octalMode, type CopySource } from '../copy-sources';
import { writeLayerFile } from '../layer-file';
import type { BuildRun } from '../run-context';
import type { BuildState, LayerRef } from '../state';

const run = promisify(execFile);

type CopyInstruction = Extract<ResolvedInstruction, { kind: 'COPY' | 'ADD' }>;

/** The layer COPY or ADD makes, written to a file of the build: the same inputs, the same layer. */
export async function copyLayer(
  build: BuildRun,
  state: BuildState,
  instruction: CopyInstruction,
  fromImage: (name: string) => Promise<string>,
  directoryInImage: (path: string) => Promise<boolean>,
): Promise<{ layer: LayerRef; path: string }> {
  const { line } = instruction;
  if (instruction.sources.some((source) => /^https?:\/\//.test(source))) {
    throw invalidArgument(`Dockerfile line ${line}: ADD from a URL is not supported here (the builder works offline): put the file in the build context`);
  }
  const destination = posix.resolve(state.config.config.WorkingDir || '/', instruction.destination);
  const sources = instruction.from !== undefined ? await sourcesFromImage(build, await fromImage(instruction.from), instruction.sources) : await sourcesFromContext(build, instruction);
  const anyDirectory = (await Promise.all(sources.map(async (source) => (await lstat(source.path)).isDirectory()))).some(Boolean);
  // As Docker's: into the destination when it says it is a directory (a trailing /, ".", the
  // working directory), when there are several sources or a directory, or when the image already
  // has a directory there; else the one file takes the destination's name.
  const namedDirectory = /(^|\/)\.?\/?$/.test(instruction.destination) || destination === posix.resolve(state.config.config.WorkingDir || '/');
  const intoDirectory = namedDirectory || sources.length > 1 || anyDirectory || (await directoryInImage(destination));
  if (sources.length > 1 && !instruction.destination.endsWith('/')) {
    throw invalidArgument(`Dockerfile line ${line}: with more than one source the destination must be a directory and end with a /`);
  }
  const archives = instruction.kind === 'ADD' && instruction.from === undefined ? await unpackArchives(build, sources) : { sources, keepOwners: false };
  const path = join(build.workDir, `layer-${build.step}.tar`);
  const layer = await writeLayerFile(
    copyEntries(archives.sources, {
      destination,
      intoDirectory: intoDirectory || archives.keepOwners,
      owner: numericOwner(instruction.chown, line),
      mode: octalMode(instruction.chmod, line),
      keepOwners: archives.keepOwners && instruction.chown === undefined,
    }),
    path,
  );
  return { layer, path };
}

/**
 * What a COPY or ADD's layer is made of, found cheaply: from the context, each file's name, kind,
 * mode, size, link and content digest; from a stage or an image, its identity. The same inputs give
 * the same layer, so they key the cache without the layer being written (or a stage copied out).
 */
export async function copyInputs(build: BuildRun, instruction: CopyInstruction, fromIdentity: (name: string) => Promise<string>): Promise<unknown> {
  const { kind, sources, destination, chown, chmod } = instruction;
  const what = { kind, sources, destination, chown, chmod };
  if (instruction.from !== undefined) return { ...what, from: await fromIdentity(instruction.from) };
  const hash = createHash('sha256');
  for (const source of await sourcesFromContext(build, instruction)) {
    for await (const file of walkTree(source.path, '.')) {
      const relative = file.name.slice(2);
      if (source.excluded(relative)) continue;
      const { mode, size } = file.stats;
      const content = file.stats.isFile() ? await build.context.fileDigest(file.path, file.stats) : file.stats.isSymbolicLink() ? await readlink(file.path) : '';
      hash.update(JSON.stringify([relativePath(build.context.dir, source.path), relative, mode, size, content]));
    }
  }
  return { ...what, content: hash.digest('hex') };
}

/** Sources in the context: wildcards matched, .dockerignore applied; a missing one is an error naming the line. */
async function sourcesFromContext(build: BuildRun, instruction: CopyInstruction): Promise<CopySource[]> {
  const { context } = build;
  const sources: CopySource[] = [];
  for (const pattern of instruction.sources) {
    const relative = contextPath(pattern);
    const matches = hasWildcards(relative) ? await matchContext(context.dir, relative) : [relative];
    const kept = matches.filter((path) => !context.excluded(path));
    if (kept.length === 0) throw invalidArgument(`Dockerfile line ${instruction.line}: ${instruction.kind} ${pattern}: no such file in the build context (or .dockerignore leaves it out)`);
    for (const path of kept) {
      const full = join(context.dir, path);
      if ((await lstat(full).catch(() => undefined)) === undefined) {
        throw invalidArgument(`Dockerfile line ${instruction.line}: ${instruction.kind} ${pattern}: no such file in the build context`);
      }
      sources.push({ path: full, excluded: (under) => under !== '' && context.excluded(path === '' ? under : `${path}/${under}`) });
    }
  }
  return sources;
}

/** `COPY --from`: each source read out of the image (a stage's result or an image) into the build's directory. */
async function sourcesFromImage(build: BuildRun, imageId: string, paths: string[]): Promise<CopySource[]> {
  const sources: CopySource[] = [];
  for (const path of paths) {
    const dir = await mkdtemp(join(build.workDir, 'from-'));
    await unpackTar(await build.builder.runtime.copyFrom(imageId, path), dir, { gzip: false, archive: 'copy' });
    const name = path === '/' || path.endsWith('/.') ? '' : basename(posix.normalize(path));
    sources.push({ path: name === '' ? dir : join(dir, name), excluded: () => false });
  }
  return sources;
}

/** ADD unpacks local tar archives (plain, gzip, bzip2, xz) into the destination, their owners kept. */
async function unpackArchives(build: BuildRun, sources: CopySource[]): Promise<{ sources: CopySource[]; keepOwners: boolean }> {
  const unpacked: CopySource[] = [];
  let keepOwners = false;
  for (const source of sources) {
    const compression = (await lstat(source.path)).isFile() ? await archiveKind(source.path) : undefined;
    if (compression === undefined) {
      unpacked.push(source);
      continue;
    }
    const dir = await mkdtemp(join(build.workDir, 'add-'));
    const tar = compression === 'tar' ? Readable.from((await open(source.path)).createReadStream()) : await decompressed(source.path, compression);
    await unpackTar(tar, dir, { gzip: compression === 'gzip', archive: 'copy' });
    unpacked.push({ path: dir, excluded: () => false });
    keepOwners = true;
  }
  return { sources: unpacked, keepOwners };
}

async function archiveKind(path: string): Promise<'tar' | 'gzip' | 'bzip2' | 'xz' | undefined> {
  const handle = await open(path);
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    const compression = compressionOf(head);
    if (compression !== undefined) return compression;
    if (bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return undefined;
  } finally {
    await handle.close();
  }
}

/** gzip goes through zlib (unpackTar); bzip2 and xz through their programs. */
async function decompressed(path: string, kind: 'gzip' | 'bzip2' | 'xz'): Promise<Readable> {
  if (kind === 'gzip') return Readable.from((await open(path)).createReadStream());
  const { stdout } = await run(kind, ['-dc', path], { encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024 });
  return Readable.from([stdout]);
}
