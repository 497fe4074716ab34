import { invalidArgument, isBerthError } from '../../../libs/errors';
import { matchesLabel, untilTime } from '../../../libs/filters';
import type { ImageRow } from '../store/repository';
import type { ImageContext } from './context';
import { collectGarbage, type GcLock } from './gc';
import { removeImage } from './tags';

const PRUNE_FILTERS = new Set(['until', 'label', 'label!']);

/**
 * `docker image prune`: dangling images (with all, every image no container uses) that match the
 * filters, then the blobs nothing refers to. Build cache is never pruned: it is not dangling (as
 * Docker's intermediate images are not), and only the builder knows when it may go.
 */
export async function pruneImages(
  context: ImageContext & { gcLock: GcLock },
  filters: Record<string, string[]>,
  all = false,
): Promise<{ deleted: string[]; spaceReclaimed: number }> {
  for (const key of Object.keys(filters)) {
    if (!PRUNE_FILTERS.has(key)) throw invalidArgument(`invalid filter "${key}": use until, label or label!`);
  }
  const before = filters.until?.[0] === undefined ? undefined : untilTime(filters.until[0]);
  const matches = (image: ImageRow) =>
    !image.buildCache &&
    (all || image.tags.length === 0) &&
    (before === undefined || (image.created !== null && image.created < before)) &&
    (filters.label ?? []).every((label) => matchesLabel(image.labels, label)) &&
    (filters['label!'] ?? []).every((label) => !matchesLabel(image.labels, label));

  const deleted: string[] = [];
  // Children before parents: a pass deletes what it can, the next what that freed.
  for (let progress = true; progress; ) {
    progress = false;
    for (const image of (await context.repository.listImages()).filter(matches)) {
      try {
        // An image with several names goes with all of them, but never one a container uses.
        if (all && (await context.containersUsing(image.id)) > 0) continue;
        const removed = await removeImage(context, image.id, { force: all, noPrune: true });
        deleted.push(...removed.deleted);
        progress = true;
      } catch (err) {
        if (!isBerthError(err, 'failed_precondition') && !isBerthError(err, 'not_found')) throw err;
      }
    }
  }
  const { bytes } = await collectGarbage(context);
  return { deleted, spaceReclaimed: bytes };
}
