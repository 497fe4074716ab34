import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, messageOf } from '../../../libs/errors';
import { attachLinkPath, readExitStatus } from '../oci';
import { tearDownSandbox } from '../network';
import { unmountOverlay } from '../rootfs';
import type { RuntimeContext } from './context';
import { recordEvent } from './events';
import { stopHealthChecks } from './health';
import { scheduleLayerCollection } from './layer-gc';
import { findLocalContainer } from './lookup';
import { ACTIVE_STATES, type Container } from './model';
import { containerPaths, exitsDir } from './paths';
import { forgetRestarts } from './restart-policy';
import { currentContainer } from './start';
import { releaseVolumes } from './volumes';

/** SIGKILL's exit status. */
const KILLED = 137;

/**
 * `docker rm`: the container, its writable layer and its log go, and its uses of volumes (with
 * `volumes`, or for an auto-remove container, its anonymous volumes too); a running one only with
 * force (killed first: kill, die, destroy). A removal cut short (the agent died) is finished at start.
 */
export async function removeContainer(context: RuntimeContext, text: string, options: { force: boolean; volumes?: boolean }): Promise<Container> {
  const { id } = await findLocalContainer(context, text);
  const removed = await context.locks.run(id, async () => {
    const container = await currentContainer(context, id);
    const active = ACTIVE_STATES.includes(container.state);
    if (active && !options.force) {
      throw failedPrecondition(`cannot remove container ${container.name}: it is ${container.state}; stop it first, or force the removal`);
    }
    forgetRestarts(context, id);
    stopHealthChecks(context, id);
    const removeVolumes = (options.volumes ?? false) || container.spec.autoRemove;
    const removing = await context.repository.update(context.db.pool, id, { state: 'removing', removeVolumes });
    context.watch.changed(id, removing);
    let exitCode: number | undefined;
    if (active) {
      // runc kills what runs and forgets it; conmon then writes the exit status.
      await context.runtime.delete(id, true);
      exitCode = (await readExitStatus(exitsDir(context.stateDir), id)) ?? KILLED;
    }
    // Docker's --rm takes the anonymous volumes too.
    await releaseVolumes(context, container, removeVolumes);
    await removeFiles(context, container);
    const networks = await context.networks.networksOf(id);
    await context.db.transaction(async (client) => {
      if (active) {
        await recordEvent(context, client, container, 'kill', { signal: '9' });
        await recordEvent(context, client, container, 'die', { exitCode: String(exitCode) });
      }
      await context.networks.recordLeaving(client, id, networks);
      await context.repository.delete(client, id);
      await recordEvent(context, client, container, 'destroy');
    });
    return { ...container, state: 'exited' as const, exitCode: exitCode ?? container.exitCode };
  });
  context.watch.removed(removed);
  // Its endpoints went with its row: their names go from the networks' DNS.
  await context.networks.refreshNames();
  scheduleLayerCollection(context);
  return removed;
}

/** Everything of a container on disk: its mount, its directory (upper layer, log), exit file and conmon's link to it. */
export async function removeFiles(context: RuntimeContext, container: Container): Promise<void> {
  const paths = containerPaths(context.stateDir, container.id);
  await context.runtime.delete(container.id, true);
  await tearDownSandbox(context.networks, container.id);
  await unmountOverlay(paths.overlay);
  await rm(paths.dir, { recursive: true, force: true }).catch((err: unknown) => {
    throw failedPrecondition(`cannot remove the files of container ${container.name}: ${messageOf(err)}`);
  });
  await rm(join(exitsDir(context.stateDir), container.id), { force: true });
  await rm(attachLinkPath(context.attachDir, container.id), { force: true });
}
