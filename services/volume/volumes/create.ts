import { mkdir, rm } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { alreadyExists, invalidArgument } from '../../../libs/errors';
import type { VolumeContext } from './context';
import { recordEvent } from './events';
import { checkedOptions } from './local-driver';
import type { Volume, VolumeRequest } from './model';
import { checkedName, generatedName } from './names';
import { volumePaths } from './paths';
import { removeVolumeDirectory } from './remove';

/**
 * `docker volume create`: the volume's directory and its row, with its create event. A name that
 * exists already gives that volume back when it was asked for the same way, as Docker does.
 */
export async function createVolume(context: VolumeContext, request: VolumeRequest): Promise<Volume> {
  if (request.driver !== '' && request.driver !== 'local') throw invalidArgument(`unknown volume driver "${request.driver}": this host has "local"`);
  const name = request.name === '' ? generatedName() : checkedName(request.name);
  const options = checkedOptions(request.options);
  return context.locks.run(name, async () => {
    const existing = await context.repository.get(name);
    if (existing !== undefined) {
      if (isDeepStrictEqual(existing.options, options) && isDeepStrictEqual(existing.labels, request.labels)) return existing;
      throw alreadyExists(`a volume named "${name}" already exists with other options or labels: remove it first, or choose another name`);
    }
    return createLocked(context, { ...request, name, options });
  });
}

/** Makes a volume known not to exist; call with its lock held. */
export async function createLocked(context: VolumeContext, request: VolumeRequest): Promise<Volume> {
  const { dir, data } = volumePaths(context.root, request.name);
  // A directory left by a crash is not this volume's: what it holds must not show up in it.
  await removeVolumeDirectory(dir, data);
  await mkdir(data, { recursive: true, mode: 0o755 });
  const volume: Volume = {
    name: request.name,
    node: context.node,
    driver: 'local',
    labels: request.labels,
    options: request.options,
    anonymous: request.anonymous,
    createdAt: new Date(),
    users: [],
  };
  try {
    await context.db.transaction(async (client) => {
      await context.repository.insert(client, volume);
      await recordEvent(context, client, volume, 'create');
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return volume;
}
