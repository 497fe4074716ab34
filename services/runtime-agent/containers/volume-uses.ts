import { messageOf } from '../../../libs/errors';
import type { RuntimeContext } from './context';

const RETRY_MS = 5_000;

/** Containers being created: the volume service records their uses before their row exists. */
const creating = new Set<string>();
let pending: NodeJS.Timeout | undefined;

/** Runs a create with its container's uses of volumes kept from the sweep until it is recorded or undone. */
export async function whileCreating<T>(id: string, work: () => Promise<T>): Promise<T> {
  creating.add(id);
  try {
    return await work();
  } finally {
    creating.delete(id);
  }
}

/**
 * Releases the uses of volumes by containers that were never recorded, and their anonymous volumes:
 * a create cut short between the volume service's Use and the container's row (the agent died, or
 * the volume service's answer was lost on the way) leaves a use that no removal would release, and a
 * volume that could never be removed. Creates under way are left alone.
 */
async function releaseOrphanedUses(context: RuntimeContext): Promise<void> {
  const uses = await context.volumes.uses();
  if (uses.length === 0) return;
  const recorded = await context.repository.recorded([...new Set(uses.map((use) => use.containerId))]);
  // Read after the rows: a create that recorded its row meanwhile is among them, one still under way here.
  const orphaned = uses.filter((use) => !recorded.has(use.containerId) && !creating.has(use.containerId));
  for (const use of orphaned) {
    await context.volumes.release(use.containerId, use.name, true);
    context.logger.info({ container: use.containerId, volume: use.name }, 'released the volume use of a container that was never created');
  }
}

/** Releases orphaned uses soon, and again until the volume service answers: at start, and after a create failed midway. */
export function scheduleOrphanedUseRelease(context: RuntimeContext, delayMs = RETRY_MS): void {
  if (pending !== undefined) return;
  pending = setTimeout(() => {
    pending = undefined;
    releaseOrphanedUses(context).catch((err: unknown) => {
      context.logger.warn(`releasing orphaned volume uses: ${messageOf(err)}`);
      scheduleOrphanedUseRelease(context);
    });
  }, delayMs);
  pending.unref();
}
