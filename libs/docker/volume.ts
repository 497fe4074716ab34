import type { volume } from '../proto';

/** A volume as `docker volume inspect` shows it, with its usage and users (Berth's additions). */
export function dockerVolume(v: volume.Volume): Record<string, unknown> {
  const orNull = (map: Record<string, string>) => (Object.keys(map).length === 0 ? null : map);
  return {
    // Go's RFC 3339, to the second, as Docker prints it.
    CreatedAt: v.created?.toISOString().replace(/\.\d+Z$/, 'Z'),
    Driver: v.driver,
    Labels: orNull(v.labels),
    Mountpoint: v.mountpoint,
    Name: v.name,
    Options: orNull(v.options),
    Scope: v.scope,
    UsageData: { Size: v.sizeBytes, RefCount: v.users.length },
    Users: v.users.map((u) => ({ ContainerID: u.containerId, Mounted: u.mounted })),
  };
}
