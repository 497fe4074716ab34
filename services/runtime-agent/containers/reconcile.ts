import { messageOf } from '../../../libs/errors';
import { readExitStatus } from '../oci';
import type { RuntimeContext } from './context';
import { restoreSandbox } from '../network';
import { recordExit, UNKNOWN_EXIT } from './exits';
import { startHealthChecks } from './health';
import { removeFiles } from './remove';
import { scheduleRestart } from './restart-policy';
import { recordEvent } from './events';
import { exitsDir } from './paths';
import { releaseVolumes } from './volumes';
import { scheduleOrphanedUseRelease } from './volume-uses';


/**
 * Makes the table agree with the host when the agent starts: containers still running (conmon kept
 * them) are adopted as they are; exits that happened meanwhile are recorded (and their restart
 * policies applied); containers lost to a reboot are marked exited, and started again when their
 * policy is always or unless-stopped; removals cut short are finished, and creates cut short undone.
 */
export async function reconcile(context: RuntimeContext): Promise<void> {
  for (const container of await context.repository.list(context.node)) {
    try {
      await context.locks.run(container.id, async () => {
        switch (container.state) {
          case 'running':
          case 'paused': {
            const status = await readExitStatus(exitsDir(context.stateDir), container.id);
            if (status !== undefined) return void (await recordExit(context, container, status));
            const state = await context.runtime.state(container.id);
            if (state !== undefined && (state.status === 'running' || state.status === 'paused')) {
              const adopted = await context.repository.update(context.db.pool, container.id, { pid: state.pid, state: state.status });
              await restoreSandbox(context.networks, container.id);
              if (adopted.state === 'running') startHealthChecks(context, adopted);
              return;
            }
            await recordExit(context, container, UNKNOWN_EXIT, { error: 'the container was not running when the agent started (host reboot?)', lost: true });
            return;
          }
          case 'restarting':
            scheduleRestart(context, container, 0);
            return;
          case 'removing':
            await releaseVolumes(context, container, container.removeVolumes);
            await removeFiles(context, container);
            await context.db.transaction(async (client) => {
              await context.repository.delete(client, container.id);
              await recordEvent(context, client, container, 'destroy');
            });
            return;
          default:
        }
      });
    } catch (err) {
      context.logger.error({ container: container.id }, `reconciling ${container.name}: ${messageOf(err)}`);
    }
  }
  // Creates the last agent left halfway hold uses of volumes that nothing else would release.
  scheduleOrphanedUseRelease(context, 0);
}
