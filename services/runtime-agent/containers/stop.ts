import type { RuntimeContext } from './context';
import { recordEvent } from './events';
import { findLocalContainer, requireState } from './lookup';
import type { Container } from './model';
import { forgetRestarts } from './restart-policy';
import { parseSignal } from './signals';
import { currentContainer, launchContainer } from './start';
import { untilNotRunning } from './wait';

export interface StopOptions {
  timeoutSeconds?: number;
  signal?: string;
}

/**
 * `docker stop`: the stop signal, then SIGKILL after the timeout. The container counts as stopped
 * by its user, so its restart policy leaves it down. Events: kill, die, stop.
 */
export async function stopContainer(context: RuntimeContext, text: string, options: StopOptions = {}): Promise<void> {
  const { id } = await findLocalContainer(context, text);
  const signalled = await context.locks.run(id, async () => {
    const container = await currentContainer(context, id);
    if (container.state === 'restarting') {
      forgetRestarts(context, id);
      await changeState(context, container, { state: 'exited', stoppedByUser: true }, 'stop');
      return undefined;
    }
    if (container.state !== 'running' && container.state !== 'paused') return undefined;
    const signal = parseSignal(options.signal || container.spec.stopSignal).name;
    await signalContainer(context, container, signal, true);
    return container;
  });
  if (signalled === undefined) return;
  const timeoutSeconds = options.timeoutSeconds ?? signalled.spec.stopTimeoutSeconds;
  const exited = await untilNotRunning(context, id, timeoutSeconds < 0 ? undefined : timeoutSeconds * 1000);
  if (!exited) {
    await context.locks.run(id, async () => {
      const container = await currentContainer(context, id);
      if (container.state === 'running' || container.state === 'paused') await signalContainer(context, container, 'SIGKILL', true);
    });
    await untilNotRunning(context, id);
  }
  await context.db.transaction(async (client) => {
    const container = await context.repository.get(id, client);
    if (container !== undefined) await recordEvent(context, client, container, 'stop');
  });
}

/** `docker kill`: any signal to the main process. SIGKILL or the stop signal count as a user's stop. */
export async function killContainer(context: RuntimeContext, text: string, signalText: string): Promise<void> {
  const { id } = await findLocalContainer(context, text);
  await context.locks.run(id, async () => {
    const container = await currentContainer(context, id);
    requireState(container, 'kill', ['running', 'paused']);
    const signal = parseSignal(signalText || 'SIGKILL').name;
    await signalContainer(context, container, signal, signal === 'SIGKILL' || signal === container.spec.stopSignal);
  });
}

/** `docker restart`: stop (as stop does), then start; a restart event last. */
export async function restartContainer(context: RuntimeContext, text: string, timeoutSeconds?: number): Promise<void> {
  const { id } = await findLocalContainer(context, text);
  await stopContainer(context, id, { timeoutSeconds });
  await context.locks.run(id, async () => {
    const container = await currentContainer(context, id);
    requireState(container, 'restart', ['created', 'exited']);
    const started = await launchContainer(context, container, { byPolicy: false });
    await changeState(context, started, {}, 'restart');
  });
}

export async function pauseContainer(context: RuntimeContext, text: string): Promise<void> {
  const { id } = await findLocalContainer(context, text);
  await context.locks.run(id, async () => {
    const container = await currentContainer(context, id);
    requireState(container, 'pause', ['running']);
    await context.runtime.pause(id);
    await changeState(context, container, { state: 'paused' }, 'pause');
  });
}

export async function unpauseContainer(context: RuntimeContext, text: string): Promise<void> {
  const { id } = await findLocalContainer(context, text);
  await context.locks.run(id, async () => {
    const container = await currentContainer(context, id);
    requireState(container, 'unpause', ['paused']);
    await context.runtime.resume(id);
    await changeState(context, container, { state: 'running' }, 'unpause');
  });
}

/** Sends a signal; a paused container is thawed so that it can act on it (as Docker does). */
async function signalContainer(context: RuntimeContext, container: Container, signal: string, byUser: boolean): Promise<void> {
  if (byUser && !container.stoppedByUser) {
    container = await context.repository.update(context.db.pool, container.id, { stoppedByUser: true });
  }
  try {
    await context.runtime.kill(container.id, signal);
  } catch (err) {
    // The process may have ended on its own a moment ago; its exit is recorded by the monitor.
    const state = await context.runtime.state(container.id);
    if (state !== undefined && state.status !== 'stopped') throw err;
  }
  if (container.state === 'paused') await context.runtime.resume(container.id).catch(() => undefined);
  await context.db.transaction((client) => recordEvent(context, client, container, 'kill', { signal: String(parseSignal(signal).number) }));
}

/** Commits a change of a container's row with its event, and tells the waiters. */
export async function changeState(
  context: RuntimeContext,
  container: Container,
  change: Parameters<RuntimeContext['repository']['update']>[2],
  action: Parameters<typeof recordEvent>[3],
): Promise<Container> {
  const updated = await context.db.transaction(async (client) => {
    const row = Object.keys(change).length > 0 ? await context.repository.update(client, container.id, change) : container;
    await recordEvent(context, client, row, action);
    return row;
  });
  context.watch.changed(updated.id, updated);
  return updated;
}

