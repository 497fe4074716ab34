import { readdir } from 'node:fs/promises';
import type { VolumeContext } from './context';
import { mountDevice, mountsDevice, unmountDevice } from './local-driver';
import type { Volume } from './model';
import { volumePaths } from './paths';
import { requireVolume } from './remove';

/**
 * Runs fn with a volume's data directory ready (the driver's device mounted for the time of fn when no
 * container has it mounted) and counted as a transfer, so that the volume cannot be removed or its
 * device unmounted under fn. The lock is held only around the start and the end: containers can
 * mount the volume meanwhile.
 */
export async function withVolumeData<T>(context: VolumeContext, name: string, fn: (data: string, volume: Volume) => Promise<T>): Promise<T> {
  const { data } = volumePaths(context.root, name);
  const volume = await context.locks.run(name, async () => {
    const found = await requireVolume(context, name);
    if (mountsDevice(found.options)) await mountDevice(found.options, data);
    context.transfers.set(name, (context.transfers.get(name) ?? 0) + 1);
    return found;
  });
  try {
    return await fn(data, volume);
  } finally {
    await context.locks.run(name, async () => {
      const left = (context.transfers.get(name) ?? 1) - 1;
      if (left === 0) context.transfers.delete(name);
      else context.transfers.set(name, left);
      const current = await context.repository.get(name);
      const mounted = current?.users.some((user) => user.mounted) ?? false;
      if (mountsDevice(volume.options) && left === 0 && !mounted) await unmountDevice(data);
    });
  }
}

export async function isEmptyDirectory(path: string): Promise<boolean> {
  return (await readdir(path)).length === 0;
}
