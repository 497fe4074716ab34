import { isBerthError } from '../../../libs/errors';
import { assertDigest } from '../content';
import type { ImageContext } from './context';
import { collectGarbage, type GcLock } from './gc';
import { removeImage } from './tags';

/**
 * `builder prune`: drops the builder's hold on images it kept as build cache, deletes those of them
 * that are now dangling and unused (as `rmi` would), then collects the blobs nothing refers to.
 * Images the builder did not hold are not its to delete, so they are left alone.
 */
export async function releaseBuildCache(
  context: ImageContext & { gcLock: GcLock },
  imageIds: string[],
): Promise<{ deleted: string[]; spaceReclaimed: number }> {
  for (const id of imageIds) assertDigest(id);
  // Alone against PutImage: a build that holds an image again between its release and its removal
  // would otherwise find its cache deleted under it.
  const deleted = await context.gcLock.exclusive(async () => {
    const released = await context.db.transaction((client) => context.repository.releaseBuildCache(client, imageIds));
    const removed: string[] = [];
    for (const id of released) {
      const image = await context.repository.getImage(id);
      // By id, rmi would take the names with it: a named image only loses its hold.
      if (image === undefined || image.tags.length > 0) continue;
      try {
        removed.push(...(await removeImage(context, id, { force: false, noPrune: false })).deleted);
      } catch (err) {
        // Used by a container or built on by another image: it stays, as an ordinary dangling image.
        if (!isBerthError(err, 'failed_precondition') && !isBerthError(err, 'not_found')) throw err;
      }
    }
    return removed;
  });
  const { bytes } = deleted.length > 0 ? await collectGarbage(context) : { bytes: 0 };
  return { deleted, spaceReclaimed: bytes };
}
