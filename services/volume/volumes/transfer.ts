import { Readable } from 'node:stream';
import { compressionOf, packTree, unpackTar } from '../../../libs/archive';
import { alreadyExists, failedPrecondition, invalidArgument } from '../../../libs/errors';
import { peekFirst } from '../../../libs/grpc';
import type { VolumeContext } from './context';
import { copyTree, emptyDirectory } from './copy';
import { createLocked } from './create';
import { isEmptyDirectory, withVolumeData } from './data';
import { checkedOptions, isTmpfs } from './local-driver';
import type { Volume, VolumeRequest } from './model';
import { checkedName } from './names';
import { destroyLocked, requireVolume } from './remove';

export interface ExportSink {
  /** Hears first which running containers have the volume mounted: the copy is consistent only if they do not write. */
  start(mountedBy: string[]): Promise<void>;
  data(chunk: Buffer): Promise<void>;
  /** Stops the export when the caller leaves. */
  signal: AbortSignal;
}

/** Backup: a volume's content as a tar, its root named "./"; symlinks are archived, never followed. */
export async function exportVolume(context: VolumeContext, name: string, sink: ExportSink): Promise<void> {
  await withVolumeData(context, name, async (data, volume) => {
    await sink.start(volume.users.filter((user) => user.mounted).map((user) => user.containerId));
    const archive = packTree(data, '.');
    sink.signal.addEventListener('abort', () => archive.destroy(), { once: true });
    for await (const chunk of archive) await sink.data(chunk as Buffer);
  });
}

/**
 * Restore: unpacks a tar into a new volume (made here) or an empty one. The archive's names stay
 * inside the volume (no "../", no links out, nothing written through a symlink); a refused or broken
 * archive leaves the volume as it was: gone if made here, empty otherwise.
 */
export async function importVolume(context: VolumeContext, request: VolumeRequest, tar: AsyncIterable<Uint8Array>): Promise<{ volume: Volume; entries: number }> {
  if (request.name === '') throw invalidArgument('name the volume to import into');
  const name = checkedName(request.name);
  const { volume, created } = await context.locks.run(name, async () => {
    const existing = await context.repository.get(name);
    if (existing !== undefined) return { volume: existing, created: false };
    return { volume: await createLocked(context, { ...request, name, options: checkedWritableOptions(request.options) }), created: true };
  });
  try {
    if (isTmpfs(volume.options)) throw invalidArgument(`volume ${name} is a tmpfs volume, which keeps nothing while unmounted: import into another`);
    const entries = await withVolumeData(context, name, async (data) => {
      if ((context.transfers.get(name) ?? 0) > 1) throw failedPrecondition(`volume ${name} is being exported, imported or cloned: try again when that is done`);
      if (!(await isEmptyDirectory(data))) throw failedPrecondition(`volume ${name} is not empty: import into a new or empty volume`);
      try {
        // A tar as export writes it, or gzip-compressed (a backup kept as .tar.gz): the first bytes say which.
        const { first, messages } = await peekFirst(nonEmpty(tar));
        const gzip = first !== undefined && compressionOf(first) === 'gzip';
        return (await unpackTar(Readable.from(messages), data, { gzip, archive: 'volume' })).entries;
      } catch (err) {
        await emptyDirectory(data);
        throw err;
      }
    });
    return { volume: await requireVolume(context, name), entries };
  } catch (err) {
    if (created) await discard(context, name);
    throw err;
  }
}

/** A new volume with a copy of another's content, owners, modes, times, xattrs and links. */
export async function cloneVolume(context: VolumeContext, source: string, target: VolumeRequest): Promise<Volume> {
  if (target.name === '') throw invalidArgument('name the new volume');
  const name = checkedName(target.name);
  const options = checkedWritableOptions(target.options);
  await requireVolume(context, source);
  await context.locks.run(name, async () => {
    if ((await context.repository.get(name)) !== undefined) throw alreadyExists(`a volume named "${name}" already exists: clone into a new one`);
    await createLocked(context, { ...target, name, options });
  });
  try {
    await withVolumeData(context, source, (from) => withVolumeData(context, name, (to) => copyTree(from, to)));
  } catch (err) {
    await discard(context, name);
    throw err;
  }
  return requireVolume(context, name);
}

/** Options for a volume that is written now and read later: a tmpfs one would lose it all. */
function checkedWritableOptions(options: Record<string, string>): Record<string, string> {
  const checked = checkedOptions(options);
  if (isTmpfs(checked)) throw invalidArgument('a tmpfs volume keeps nothing while unmounted: give it other options');
  return checked;
}

/** Destroys a volume this operation made and could not fill. */
async function discard(context: VolumeContext, name: string): Promise<void> {
  await context.locks.run(name, async () => {
    const volume = await context.repository.get(name);
    if (volume !== undefined && volume.users.length === 0) await destroyLocked(context, volume);
  });
}

/** The chunks that hold bytes: an upload's opening message may carry none. */
async function* nonEmpty(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) if (chunk.length > 0) yield chunk;
}
