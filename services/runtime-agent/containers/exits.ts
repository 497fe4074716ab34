import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../../../libs/errors';
import { readExitStatus } from '../oci';
import { tearDownSandbox } from '../network';
import { unmountOverlay } from '../rootfs';
import type { RuntimeContext } from './context';
import { recordEvent } from './events';
import { stopHealthChecks } from './health';
import type { Container } from './model';
import { containerPaths, exitsDir } from './paths';
import { removeContainer } from './remove';
import { scheduleRestart, shouldRestart } from './restart-policy';
import { unmountVolumes } from './volumes';

/**
 * Records the exit that conmon wrote for a container, if there is one and it is not recorded yet:
 * called when the exit file appears, by the periodic sweep, and when the agent starts.
 */
export async function handleExitFile(context: RuntimeContext, id: string): Promise<void> {
  await context.locks.run(id, async () => {
    const container = await context.repository.get(id);
    if (container === undefined || (container.state !== 'running' && container.state !== 'paused')) return;
    const status = await readExitStatus(exitsDir(context.stateDir), id);
    if (status !== undefined) await recordExit(context, container, status);
  });
}

/** The status Docker gives a container whose process ended without an exit status being recorded. */
export const UNKNOWN_EXIT = 255;

/**
 * A container recorded as running whose process is gone, without an exit file: conmon could not
 * write it (a full state disk) or died itself. Recorded as an exit of unknown status, so that the
 * container does not stay running forever and a stop waiting for it ends.
 */
export async function handleVanishedProcess(context: RuntimeContext, id: string): Promise<void> {
  await context.locks.run(id, async () => {
    const container = await context.repository.get(id);
    if (container === undefined || (container.state !== 'running' && container.state !== 'paused') || processAlive(container.pid)) return;
    const status = await readExitStatus(exitsDir(context.stateDir), id);
    if (status !== undefined) return void (await recordExit(context, container, status));
    await recordExit(context, container, UNKNOWN_EXIT, { error: 'its process ended but no exit status was recorded (was the state disk full?)' });
  });
}

/** Whether a process exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * What follows the end of a container's process: the runtime forgets it, its root is unmounted, its
 * state becomes exited (or restarting, when its policy says so) with the oom and die events, and an
 * auto-remove container goes. Call with the container's lock held.
 */
export async function recordExit(
  context: RuntimeContext,
  container: Container,
  exitCode: number,
  options: { error?: string; lost?: boolean } = {},
): Promise<Container> {
  const paths = containerPaths(context.stateDir, container.id);
  stopHealthChecks(context, container.id);
  const oomKilled = existsSync(join(paths.persist, 'oom'));
  const restart = shouldRestart(container, exitCode, options.lost ?? false);
  const exited = await context.db.transaction(async (client) => {
    const updated = await context.repository.update(client, container.id, {
      state: restart ? 'restarting' : 'exited',
      pid: 0,
      exitCode,
      error: options.error ?? '',
      oomKilled,
      finishedAt: new Date(),
    });
    if (oomKilled) await recordEvent(context, client, updated, 'oom');
    await recordEvent(context, client, updated, 'die', { exitCode: String(exitCode) });
    return updated;
  });
  // Waiters learn of the exit first; the runtime's record and the mounts go after, still under the
  // lock, so that a start or a removal waits for them (and both redo them if the agent died here).
  context.watch.changed(exited.id, exited);
  // The process is gone: its runtime record, volumes, network and root are independent of each other.
  const warn = (what: string) => (err: unknown) => context.logger.warn({ container: container.id }, `${what}: ${messageOf(err)}`);
  await Promise.all([
    context.runtime.delete(container.id, true).catch(warn('runtime delete')),
    unmountVolumes(context, container),
    tearDownSandbox(context.networks, container.id).catch(warn('network')),
    unmountOverlay(paths.overlay).catch(warn('root unmount')),
  ]);
  await rm(join(exitsDir(context.stateDir), container.id), { force: true });
  await context.networks.refreshNames().catch((err: unknown) => context.logger.warn(`network names: ${messageOf(err)}`));
  if (restart) scheduleRestart(context, exited);
  else if (exited.spec.autoRemove) autoRemove(context, exited.id);
  return exited;
}

/** `--rm`: the container goes once its exit (or failed start) is recorded, outside the lock that holds. */
export function autoRemove(context: RuntimeContext, id: string): void {
  setImmediate(() => {
    removeContainer(context, id, { force: false }).catch((err: unknown) => {
      context.logger.warn({ container: id }, `auto-remove: ${messageOf(err)}`);
    });
  });
}
