export { mountOverlay, unmountOverlay, overlayDirs, removeShortName, type OverlayDirs } from './overlay';
export { containerChanges, writeLayerTar, type Change } from './diff';
export { exportFilesystem } from './export';
export { copyIn, copyOut, resolveInRoot } from './copy';
