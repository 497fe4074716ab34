import { du } from './disk-usage';
import type { RuntimeContext } from './context';
import { containerPaths } from './paths';
import { checkFilterKeys, matchesLabel, untilTime } from '../../../libs/filters';
import { removeContainer } from './remove';

/** `docker container prune`: every container of this node that is not running, filtered by label and age. */
export async function pruneContainers(context: RuntimeContext, filters: Record<string, string[]>): Promise<{ deleted: string[]; spaceReclaimed: number }> {
  checkFilterKeys(filters, ['label', 'until']);
  const until = filters.until?.map((text) => untilTime(text));
  const deleted: string[] = [];
  let spaceReclaimed = 0;
  for (const container of await context.repository.list(context.node)) {
    if (container.state !== 'exited' && container.state !== 'created' && container.state !== 'dead') continue;
    if (!(filters.label ?? []).every((l) => matchesLabel(container.spec.labels, l))) continue;
    if (!(until ?? []).every((t) => container.createdAt < t)) continue;
    const size = await du(containerPaths(context.stateDir, container.id).dir);
    await removeContainer(context, container.id, { force: false });
    deleted.push(container.id);
    spaceReclaimed += size;
  }
  return { deleted, spaceReclaimed };
}
