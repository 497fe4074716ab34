import type { RuntimeContext } from './context';
import { findContainer } from './lookup';
import { ACTIVE_STATES, type Container } from './model';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

const isActive = (container: Container | undefined) => container !== undefined && ACTIVE_STATES.includes(container.state);

/** Resolves true once the container is neither running, paused nor restarting (false on timeout). */
export async function untilNotRunning(context: RuntimeContext, id: string, timeoutMs?: number): Promise<boolean> {
  const abort = new AbortController();
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => abort.abort(), timeoutMs);
  try {
    const stopped = context.watch.until(id, (c) => c === undefined || (c.state !== 'running' && c.state !== 'paused'), abort.signal);
    // Subscribed first, then looked: an exit between the two is not missed.
    const now = await context.repository.get(id);
    if (now === undefined || (now.state !== 'running' && now.state !== 'paused')) {
      abort.abort();
      await stopped.catch(() => undefined);
      return true;
    }
    await stopped;
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `docker wait`: blocks until the condition holds and gives the exit code of the container's last
 * run. next-exit waits for a die even if the container is not running yet.
 */
export async function waitForContainer(context: RuntimeContext, text: string, condition: WaitCondition, signal?: AbortSignal): Promise<Container> {
  const container = await findContainer(context, text);
  let last = container;
  const test = (c: Container | undefined): boolean => {
    if (c !== undefined) last = c;
    if (condition === 'removed') return c === undefined;
    if (condition === 'next-exit') return c !== undefined && (c.state === 'exited' || c.state === 'restarting') && c.finishedAt !== null && c.finishedAt > (container.finishedAt ?? new Date(0));
    return !isActive(c);
  };
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  signal?.addEventListener('abort', onAbort);
  try {
    const reached = context.watch.until(container.id, test, abort.signal);
    const now = await context.repository.get(container.id);
    if (condition !== 'next-exit' && test(now)) {
      abort.abort();
      await reached.catch(() => undefined);
      return last;
    }
    await reached;
    return last;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
