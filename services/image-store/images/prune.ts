import { invalidArgument, isBerthError } from '../../../libs/errors';
import type { ImageRow } from '../store/repository';
import type { ImageContext } from './context';
import { collectGarbage, type GcLock } from './gc';
import { removeImage } from './tags';

const PRUNE_FILTERS = new Set(['until', 'label', 'label!']);

/** `docker image prune`: dangling images that match the filters, then the blobs nothing refers to. */
export async function pruneImages(context: ImageContext & { gcLock: GcLock }, filters: Record<string, string[]>): Promise<{ deleted: string[]; spaceReclaimed: number }> {
  for (const key of Object.keys(filters)) {
    if (!PRUNE_FILTERS.has(key)) throw invalidArgument(`invalid filter "${key}": use until, label or label!`);
  }
  const before = filters.until?.[0] === undefined ? undefined : untilTime(filters.until[0]);
  const matches = (image: ImageRow) =>
    image.tags.length === 0 &&
    (before === undefined || (image.created !== null && image.created < before)) &&
    (filters.label ?? []).every((label) => hasLabel(image.labels, label)) &&
    (filters['label!'] ?? []).every((label) => !hasLabel(image.labels, label));

  const deleted: string[] = [];
  // Children before parents: a pass deletes what it can, the next what that freed.
  for (let progress = true; progress; ) {
    progress = false;
    for (const image of (await context.repository.listImages()).filter(matches)) {
      try {
        const removed = await removeImage(context, image.id, { force: false, noPrune: true });
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

function hasLabel(labels: Record<string, string>, filter: string): boolean {
  const equals = filter.indexOf('=');
  return equals === -1 ? filter in labels : labels[filter.slice(0, equals)] === filter.slice(equals + 1);
}

/** "24h", "90m", "30s" before now, or a timestamp (RFC 3339 or Unix seconds). */
function untilTime(text: string): Date {
  const duration = /^(\d+)(s|m|h)$/.exec(text);
  if (duration !== null) return new Date(Date.now() - Number(duration[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[duration[2] as 's' | 'm' | 'h']);
  if (/^\d+$/.test(text)) return new Date(Number(text) * 1000);
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) throw invalidArgument(`invalid until "${text}": a duration (24h) or a timestamp`);
  return time;
}
