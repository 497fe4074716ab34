import type { volume } from '../../../libs/proto';
import type { Volume, VolumeRequest } from '../volumes';
import { volumePaths } from '../volumes';

/** A volume as the API describes it; sizeBytes -1 when not computed. */
export function toVolumeMessage(root: string, v: Volume, sizeBytes = -1): volume.Volume {
  return {
    name: v.name,
    driver: v.driver,
    mountpoint: volumePaths(root, v.name).data,
    created: v.createdAt,
    labels: v.labels,
    options: v.options,
    anonymous: v.anonymous,
    scope: 'local',
    node: v.node,
    users: v.users.map((user) => ({ containerId: user.containerId, mounted: user.mounted })),
    sizeBytes,
  };
}

export function toVolumeRequest(request: volume.CreateRequest | undefined): VolumeRequest {
  return {
    name: request?.name ?? '',
    driver: request?.driver ?? '',
    labels: request?.labels ?? {},
    options: request?.options ?? {},
    anonymous: request?.anonymous ?? false,
  };
}
