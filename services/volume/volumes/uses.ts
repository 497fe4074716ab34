import { readdir } from 'node:fs/promises';
import { failedPrecondition, notFound } from '../../../libs/errors';
import type { VolumeContext } from './context';
import { createLocked } from './create';
import { recordEvent } from './events';
import { checkedOptions, mountDevice, mountsDevice, unmountDevice } from './local-driver';
import type { Volume } from './model';
import { copyTree } from './copy';
import { isEmptyDirectory } from './data';
import { checkedName, generatedName } from './names';
import { volumePaths } from './paths';
import { destroyLocked, requireVolume } from './remove';

export interface UseRequest {
  containerId: string;
  /** Empty for a new anonymous volume. */
  name: string;
  createIfMissing: boolean;
  options: Record<string, string>;
  labels: Record<string, string>;
}

/** Records that a container uses a volume, made first if asked: from now on the volume cannot be removed. */
export async function useVolume(context: VolumeContext, request: UseRequest): Promise<Volume> {
  const anonymous = request.name === '';
  const name = anonymous ? generatedName() : checkedName(request.name);
  return context.locks.run(name, async () => {
    let volume = await context.repository.get(name);
    if (volume === undefined) {
      if (!anonymous && !request.createIfMissing) throw notFound(`no such volume: ${name}`);
      const options = checkedOptions(request.options);
      volume = await createLocked(context, { name, driver: 'local', labels: request.labels, options, anonymous });
    }
    await context.repository.addUse(context.db.pool, name, request.containerId);
    return requireVolume(context, name);
  });
}

/**
 * Forgets a container's use of a volume (the container is removed); with removeAnonymous an anonymous
 * volume no one else uses is destroyed. Whether it was.
 */
export async function releaseVolume(context: VolumeContext, containerId: string, name: string, removeAnonymous: boolean): Promise<boolean> {
  return context.locks.run(name, async () => {
    await context.repository.removeUse(context.db.pool, name, containerId);
    const volume = await context.repository.get(name);
    if (volume === undefined || !removeAnonymous || !volume.anonymous || volume.users.length > 0) return false;
    await destroyLocked(context, volume);
    return true;
  });
}

/**
 * Makes a volume ready for a container that starts: the driver's mount when none is there yet, and
 * Docker's copy-up (the image's content at the mount's target fills an empty volume, owners, modes,
 * links and xattrs kept). The host directory to bind, and whether it was filled.
 */
export async function mountVolume(context: VolumeContext, containerId: string, name: string, populateFrom: string): Promise<{ path: string; populated: boolean }> {
  return context.locks.run(name, async () => {
    const volume = await requireVolume(context, name);
    if (!volume.users.some((user) => user.containerId === containerId)) {
      throw failedPrecondition(`container ${containerId.slice(0, 12)} does not use volume ${name}: record the use first`);
    }
    const { data } = volumePaths(context.root, name);
    if (mountsDevice(volume.options)) await mountDevice(volume.options, data);
    const populated = populateFrom !== '' && (await isEmptyDirectory(data)) && (await readdir(populateFrom).catch(() => [])).length > 0;
    if (populated) await copyTree(populateFrom, data);
    await context.db.transaction(async (client) => {
      await context.repository.setMounted(client, name, containerId, true);
      await recordEvent(context, client, volume, 'mount', { container: containerId });
    });
    return { path: data, populated };
  });
}

/** A container that had the volume mounted stopped: the driver's mount goes with the last such container. */
export async function unmountVolume(context: VolumeContext, containerId: string, name: string): Promise<void> {
  await context.locks.run(name, async () => {
    const volume = await context.repository.get(name);
    if (volume === undefined) return; // removed by force meanwhile
    const wasMounted = volume.users.some((user) => user.containerId === containerId && user.mounted);
    if (wasMounted) {
      await context.db.transaction(async (client) => {
        await context.repository.setMounted(client, name, containerId, false);
        await recordEvent(context, client, volume, 'unmount', { container: containerId });
      });
    }
    const stillMounted = volume.users.some((user) => user.containerId !== containerId && user.mounted);
    if (mountsDevice(volume.options) && !stillMounted && (context.transfers.get(name) ?? 0) === 0) await unmountDevice(volumePaths(context.root, name).data);
  });
}
