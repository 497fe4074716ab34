import { alreadyExists } from '../../../libs/errors';
import type { RuntimeContext } from './context';
import { findLocalContainer } from './lookup';
import type { Container, RestartPolicy } from './model';
import { checkedName } from './names';
import { checkedResources } from './run-spec';
import { currentContainer } from './start';
import { changeState } from './stop';
import type { runtime } from '../../../libs/proto';

/** `docker rename`. */
export async function renameContainer(context: RuntimeContext, text: string, newName: string): Promise<void> {
  const name = checkedName(newName);
  const { id } = await findLocalContainer(context, text);
  await context.locks.run(id, async () => {
    const container = await currentContainer(context, id);
    if (container.name === name) return;
    const holder = await context.repository.byName(name);
    if (holder !== undefined) throw alreadyExists(`the container name "${name}" is already in use by container ${holder.id.slice(0, 12)}`);
    await changeState(context, { ...container, name }, { name }, 'rename').then(
      () => undefined,
      (err: { code?: string }) => {
        if (err.code === '23505') throw alreadyExists(`the container name "${name}" is already in use`);
        throw err;
      },
    );
  });
  await context.networks.refreshNames();
}

/** `docker update`: new limits, applied at once to a running container, and kept for later runs. */
export async function updateContainer(
  context: RuntimeContext,
  text: string,
  resources: runtime.Resources | undefined,
  restartPolicy: RestartPolicy | undefined,
): Promise<Container> {
  const limits = checkedResources(resources);
  const { id } = await findLocalContainer(context, text);
  return context.locks.run(id, async () => {
    const container = await currentContainer(context, id);
    if (container.state === 'running' || container.state === 'paused') {
      await context.runtime.update(id, {
        memoryBytes: limits.memoryBytes,
        cpuQuota: limits.cpus !== undefined ? Math.round(limits.cpus * 100_000) : undefined,
        cpuPeriod: 100_000,
        pidsLimit: limits.pidsLimit,
      });
    }
    const spec = {
      ...container.spec,
      resources: { ...container.spec.resources, ...limits },
      restartPolicy: restartPolicy ?? container.spec.restartPolicy,
    };
    return changeState(context, container, { spec }, 'update');
  });
}
