/** Tar archives of directory trees, both ways, never reaching outside the tree they are given. */
export { packEntries, packTree, walkTree, entryOf, ignoreMissing, type TarEntry, type TreeFile } from './pack';
export { unpackTar, type ExtractOptions, type ExtractResult } from './unpack';
export { compressionOf } from './compression';
