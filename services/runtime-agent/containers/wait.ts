import type { RuntimeContext } from './context';
import { findContainer } from './lookup';
import { ACTIVE_STATES, type Container } from './model';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** How long a wait whose container's row is gone waits for this process to hear of the removal. */
const REMOVAL_NOTICE_MS = 2_000;

const isActive = (container: Container | undefined) => container !== undefined && ACTIVE_STATES.includes(container.state);

/** Resolves true once the container is neither running, paused nor restarting (false on timeout). */
export async function untilNotRunning(context: RuntimeContext, id: string, timeoutMs?: number): Promise<boolean> {
  const abort = new AbortController();
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => abort.abort(), timeoutMs);
  const notRunning = (c: Container | undefined) => c === undefined || (c.state !== 'running' && c.state !== 'paused');
  // Subscribed first, then looked: an exit between the two is not missed.
  const stopped = context.watch.until(id, notRunning, abort.signal).then(() => true, () => false);
  try {
    if (notRunning(await context.repository.get(id))) {
      abort.abort();
      return true;
    }
    return await stopped;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `docker wait`: blocks until the condition holds and gives the exit code of the container's last
 * run. next-exit waits for a die even if the container is not running yet.
 */
export async function waitForContainer(context: RuntimeContext, text: string, condition: WaitCondition, signal?: AbortSignal): Promise<Container> {
  const container = await findContainer(context, text).catch((err: unknown) => {
    // An auto-removed container may be gone by the time its client asks how it ended.
    const removed = context.watch.recentlyRemoved(text);
    if (removed !== undefined && condition !== 'next-exit') return removed;
    throw err;
  });
  // What a wait ends on: the container as the change that ended it says, or, once it is gone, the
  // removal's own record (how it ended), else the row first read.
  const recordOf = (c: Container | undefined): Container => c ?? context.watch.recentlyRemoved(container.id) ?? container;
  const holds = (c: Container | undefined): boolean => {
    if (condition === 'removed') return c === undefined;
    if (condition === 'next-exit') return c !== undefined && (c.state === 'exited' || c.state === 'restarting') && c.finishedAt !== null && c.finishedAt > (container.finishedAt ?? new Date(0));
    return !isActive(c);
  };
  const abort = new AbortController();
  const onAbort = () => abort.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort);
  try {
    // Subscribed first, then read: a change between the two is not missed. The read may still be
    // older than a change the subscription already saw, so it answers only when it holds itself.
    const reached = context.watch.until(container.id, holds, abort.signal);
    const now = await context.repository.get(container.id);
    // Another connection can see a removal's commit before this process has heard of it: the row is
    // gone and what was read of it before may predate its exit. The removal's own record comes with
    // the watch's notice, a moment later (or never, if another process removed it: then what is known).
    if (condition !== 'next-exit' && now === undefined && context.watch.recentlyRemoved(container.id) === undefined) {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        abort.abort();
      }, REMOVAL_NOTICE_MS);
      const ended = await reached.catch(() => undefined);
      clearTimeout(timer);
      if (late) context.logger.warn({ container: container.id }, `no notice of the removal of ${container.name} within ${REMOVAL_NOTICE_MS} ms: answering with its last known state`);
      return recordOf(ended);
    }
    if (condition !== 'next-exit' && holds(now)) {
      abort.abort();
      await reached.catch(() => undefined);
      return recordOf(now);
    }
    return recordOf(await reached);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
