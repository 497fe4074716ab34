export { mountOverlay, unmountOverlay, overlayDirs, type OverlayDirs } from './overlay';
