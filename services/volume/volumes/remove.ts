import { rm } from 'node:fs/promises';
import { failedPrecondition, notFound } from '../../../libs/errors';
import { matchesLabel } from '../../../libs/filters';
import type { VolumeContext } from './context';
import { recordEvent } from './events';
import { isMountPoint, unmountDevice } from './local-driver';
import type { Volume } from './model';
import { volumePaths } from './paths';
import { diskUsage } from './usage';

/**
 * `docker volume rm`: refused while any container uses the volume; with force, a volume that only
 * stopped containers use goes too (their uses with it), but never one a running container has mounted.
 */
export async function removeVolume(context: VolumeContext, name: string, force: boolean): Promise<void> {
  await context.locks.run(name, async () => {
    const volume = await requireVolume(context, name);
    refuseRemoval(context, volume, force);
    await destroyLocked(context, volume);
  });
}

export async function requireVolume(context: VolumeContext, name: string): Promise<Volume> {
  const volume = await context.repository.get(name);
  if (volume === undefined) throw notFound(`no such volume: ${name}`);
  return volume;
}

function refuseRemoval(context: VolumeContext, volume: Volume, force: boolean): void {
  const mounted = volume.users.filter((user) => user.mounted).map((user) => user.containerId.slice(0, 12));
  if (mounted.length > 0) throw failedPrecondition(`volume ${volume.name} is in use by running container(s) ${mounted.join(', ')}: stop them first`);
  if (volume.users.length > 0 && !force) {
    const users = volume.users.map((user) => user.containerId.slice(0, 12)).join(', ');
    throw failedPrecondition(`volume ${volume.name} is in use by container(s) ${users}: remove them first, or force the removal (stopped containers lose the volume)`);
  }
  if ((context.transfers.get(volume.name) ?? 0) > 0) throw failedPrecondition(`volume ${volume.name} is being exported, imported or cloned: try again when that is done`);
}

/** Destroys a volume: its mount, its row (with its destroy event), then its directory. Call with its lock held. */
export async function destroyLocked(context: VolumeContext, volume: Volume): Promise<void> {
  const { dir, data } = volumePaths(context.root, volume.name);
  await unmountDevice(data);
  await context.db.transaction(async (client) => {
    await context.repository.delete(client, volume.name);
    await recordEvent(context, client, volume, 'destroy');
  });
  await removeVolumeDirectory(dir, data);
}

/** Removes a volume's directory, never through a mount on its data directory (a bind's host files). */
export async function removeVolumeDirectory(dir: string, data: string): Promise<void> {
  await unmountDevice(data);
  if (await isMountPoint(data)) throw failedPrecondition(`${data} is still mounted: its volume directory stays`);
  await rm(dir, { recursive: true, force: true });
}

export interface PruneFilters {
  /** "key" or "key=value": only volumes with the label. */
  label: string[];
  /** "key" or "key=value": only volumes without it. */
  labelNot: string[];
}

/**
 * `docker volume prune`: every volume no container uses, anonymous ones only unless all; each goes as
 * `volume rm` would take it, so a volume that a container starts using meanwhile stays.
 */
export async function pruneVolumes(context: VolumeContext, all: boolean, filters: PruneFilters): Promise<{ deleted: string[]; spaceReclaimed: number }> {
  const candidates = (await context.repository.list()).filter(
    (volume) =>
      volume.users.length === 0 &&
      (all || volume.anonymous) &&
      filters.label.every((label) => matchesLabel(volume.labels, label)) &&
      !filters.labelNot.some((label) => matchesLabel(volume.labels, label)),
  );
  const deleted: string[] = [];
  let spaceReclaimed = 0;
  for (const candidate of candidates) {
    await context.locks.run(candidate.name, async () => {
      const volume = await context.repository.get(candidate.name);
      if (volume === undefined || volume.users.length > 0 || (context.transfers.get(volume.name) ?? 0) > 0) return;
      const size = await diskUsage(volumePaths(context.root, volume.name).data);
      await destroyLocked(context, volume);
      deleted.push(volume.name);
      spaceReclaimed += size;
    });
  }
  await context.db.transaction((client) =>
    context.events.append(client, { type: 'volume', action: 'prune', actorId: '', attributes: { reclaimed: String(spaceReclaimed) } }),
  );
  return { deleted, spaceReclaimed };
}
