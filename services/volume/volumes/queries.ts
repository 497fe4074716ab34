import { invalidArgument } from '../../../libs/errors';
import { checkFilterKeys, matchesLabel } from '../../../libs/filters';
import type { VolumeContext } from './context';
import type { Volume } from './model';
import { volumePaths } from './paths';
import { requireVolume } from './remove';
import { diskUsage } from './usage';

const FILTER_KEYS = ['name', 'label', 'label!', 'dangling', 'driver'];

/** `docker volume ls --filter`: values of one key are alternatives; every key given must match. */
export async function listVolumes(context: VolumeContext, filters: Record<string, string[]>): Promise<Volume[]> {
  checkFilterKeys(filters, FILTER_KEYS);
  for (const value of filters.dangling ?? []) {
    if (!['true', 'false', '1', '0'].includes(value)) throw invalidArgument(`invalid dangling filter "${value}": use true or false`);
  }
  const matches = (values: string[] | undefined, test: (value: string) => boolean) => values === undefined || values.length === 0 || values.some(test);
  return (await context.repository.list()).filter(
    (volume) =>
      matches(filters.name, (name) => volume.name.includes(name)) &&
      matches(filters.driver, (driver) => volume.driver === driver) &&
      matches(filters.dangling, (dangling) => (dangling === 'true' || dangling === '1') === (volume.users.length === 0)) &&
      (filters.label ?? []).every((label) => matchesLabel(volume.labels, label)) &&
      !(filters['label!'] ?? []).some((label) => matchesLabel(volume.labels, label)),
  );
}

/** `docker volume inspect`, with the bytes the volume takes. */
export async function inspectVolume(context: VolumeContext, name: string): Promise<{ volume: Volume; sizeBytes: number }> {
  const volume = await requireVolume(context, name);
  return { volume, sizeBytes: await diskUsage(volumePaths(context.root, name).data) };
}
