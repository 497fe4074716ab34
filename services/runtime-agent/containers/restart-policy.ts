import { messageOf } from '../../../libs/errors';
import type { RuntimeContext } from './context';
import type { Container } from './model';
import { launchContainer } from './start';

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 60_000;
/** A run at least this long resets the back-off, as Docker's does. */
const HEALTHY_RUN_MS = 10_000;

const delays = new Map<string, number>();

/**
 * Whether the policy starts the container again after this exit; never after a user stopped it.
 * A container lost with its host (a reboot) is not a failure of its own: on-failure leaves it.
 */
export function shouldRestart(container: Container, exitCode: number, lost = false): boolean {
  const { name, maximumRetryCount } = container.spec.restartPolicy;
  if (container.stoppedByUser) return false;
  switch (name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return !lost && exitCode !== 0 && (maximumRetryCount === 0 || container.restartCount < maximumRetryCount);
    default:
      return false;
  }
}

/** Docker's back-off: 100 ms, doubled after each quick exit up to a minute, reset by a long run. */
function nextDelay(container: Container): number {
  const ranMs = container.startedAt !== null && container.finishedAt !== null ? container.finishedAt.getTime() - container.startedAt.getTime() : 0;
  const previous = delays.get(container.id);
  const delay = previous === undefined || ranMs >= HEALTHY_RUN_MS ? FIRST_DELAY_MS : Math.min(previous * 2, MAX_DELAY_MS);
  delays.set(container.id, delay);
  return delay;
}

/** Starts a restarting container again after its back-off; stop and remove cancel the timer. */
export function scheduleRestart(context: RuntimeContext, container: Container, delayMs = nextDelay(container)): void {
  clearTimeout(context.timers.get(container.id));
  const timer = setTimeout(() => {
    context.timers.delete(container.id);
    void context.locks
      .run(container.id, async () => {
        const current = await context.repository.get(container.id);
        if (current?.state !== 'restarting') return;
        await launchContainer(context, current, { byPolicy: true });
      })
      .catch((err: unknown) => context.logger.warn({ container: container.id }, `restart failed: ${messageOf(err)}`));
  }, delayMs);
  timer.unref();
  context.timers.set(container.id, timer);
}

/** Forgets a removed container's back-off. */
export function forgetRestarts(context: RuntimeContext, id: string): void {
  clearTimeout(context.timers.get(id));
  context.timers.delete(id);
  delays.delete(id);
}
