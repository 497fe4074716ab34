export { runBuild, type BuildResult } from './build';
export { pruneCache } from './prune';
export type { BuilderContext, BuildOptions, BuildProgress } from './run-context';
export type { ContextEntry, ContextUpload } from './context-store';
