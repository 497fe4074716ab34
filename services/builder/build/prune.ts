import type { BuilderContext } from './run-context';

/**
 * `docker builder prune`: the cache's entries (those last used before a time, or all) and the images
 * only they held; with all of them, the build contexts kept for rebuilds too.
 */
export async function pruneCache(builder: BuilderContext, usedBefore: Date | undefined): Promise<{ entries: number; deletedImages: string[]; spaceReclaimed: number }> {
  const contextBytes = usedBefore === undefined ? await builder.contexts.prune() : 0;
  const { entries, imageIds } = await builder.cache.drop(usedBefore);
  if (imageIds.length === 0) return { entries, deletedImages: [], spaceReclaimed: contextBytes };
  const released = await builder.imageStore.releaseBuildCache(imageIds);
  return { entries, deletedImages: released.deleted, spaceReclaimed: released.spaceReclaimed + contextBytes };
}
