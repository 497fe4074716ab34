import type { BuilderContext } from './run-context';

/** `docker builder prune`: the cache's entries (those last used before a time, or all) and the images only they held. */
export async function pruneCache(builder: BuilderContext, usedBefore: Date | undefined): Promise<{ entries: number; deletedImages: string[]; spaceReclaimed: number }> {
  const { entries, imageIds } = await builder.cache.drop(usedBefore);
  if (imageIds.length === 0) return { entries, deletedImages: [], spaceReclaimed: 0 };
  const released = await builder.imageStore.releaseBuildCache(imageIds);
  return { entries, deletedImages: released.deleted, spaceReclaimed: released.spaceReclaimed };
}
