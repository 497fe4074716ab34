export type { VolumeContext } from './context';
export type { Volume, VolumeRequest, VolumeUser } from './model';
export { createVolume } from './create';
export { removeVolume, pruneVolumes, type PruneFilters } from './remove';
export { listVolumes, inspectVolume } from './queries';
export { useVolume, releaseVolume, mountVolume, unmountVolume, type UseRequest } from './uses';
export { exportVolume, importVolume, cloneVolume, type ExportSink } from './transfer';
export { volumePaths } from './paths';
