import { mkdir } from 'node:fs/promises';
import { alreadyExists } from '../../../libs/errors';
import { chainIds } from '../layers';
import type { RuntimeContext } from './context';
import { recordEvent } from './events';
import { withLayersPinned } from './layer-gc';
import type { Container } from './model';
import { checkedName, generatedName, newContainerId } from './names';
import { containerPaths } from './paths';
import { runSpecFor, type CreateInput } from './run-spec';
import { prepareMounts, releaseVolumes } from './volumes';
import { scheduleOrphanedUseRelease, whileCreating } from './volume-uses';
import { joinNetwork, networkOfMode, type Network } from '../network';
import { removeContainer } from './remove';

export interface CreateRequest extends CreateInput {
  name: string;
  platform: string;
  /** Why the container goes on this node (see nodes/placement). */
  placement: string;
}

const NAME_ATTEMPTS = 10;

/**
 * `docker create`: the image is made ready on this host (its layers unpacked once and shared), the
 * run spec fixed, its volumes' uses recorded, and the container recorded with its create event.
 * Nothing runs yet.
 */
export async function createContainer(context: RuntimeContext, request: CreateRequest): Promise<Container> {
  const id = newContainerId();
  return whileCreating(id, () => createWithId(context, id, request));
}

async function createWithId(context: RuntimeContext, id: string, request: CreateRequest): Promise<Container> {
  const requestedName = request.name === '' ? undefined : checkedName(request.name);
  if (requestedName !== undefined) await refuseTakenName(context, requestedName);
  const { image, layers } = await withLayersPinned(async () => {
    const prepared = await context.images.prepare(request.config!.image, request.platform);
    const chain = chainIds(prepared.diffIds);
    await context.repository.recordImageLayers(context.node, prepared.id, chain);
    return { image: prepared, layers: chain };
  });
  const spec = await prepareMounts(context, id, runSpecFor(id, request, image.config, context.runtime.binary)).catch((err: unknown) => {
    // A use whose answer was lost (the volume service went away) is not known here: the sweep finds it.
    scheduleOrphanedUseRelease(context);
    throw err;
  });
  let container: Container;
  let network: Network | undefined;
  try {
    // A network that does not exist fails the create before anything is recorded.
    network = await networkOfMode(context.networks, spec.network!.mode);
    await mkdir(containerPaths(context.stateDir, id).dir, { recursive: true, mode: 0o700 });
    container = await recordContainer(context, { id, requestedName, placement: request.placement, imageId: image.id, imageName: request.config!.image, spec, layers });
  } catch (err) {
    await releaseVolumes(context, { id, spec }, true).catch(() => scheduleOrphanedUseRelease(context));
    throw err;
  }
  try {
    await joinNetwork(context.networks, id, network, spec.network!);
  } catch (err) {
    await removeContainer(context, id, { force: true, volumes: true }).catch(() => undefined);
    throw err;
  }
  return container;
}

/** Records the new container with its create event, a generated name retried if it clashes. */
async function recordContainer(
  context: RuntimeContext,
  made: Pick<Container, 'id' | 'placement' | 'imageId' | 'imageName' | 'spec' | 'layers'> & { requestedName: string | undefined },
): Promise<Container> {
  const { id, requestedName } = made;

  for (let attempt = 0; ; attempt++) {
    const container: Container = {
      id,
      name: requestedName ?? generatedName(attempt),
      node: context.node,
      placement: made.placement,
      imageId: made.imageId,
      imageName: made.imageName,
      spec: made.spec,
      layers: made.layers,
      state: 'created',
      pid: 0,
      exitCode: 0,
      error: '',
      oomKilled: false,
      stoppedByUser: false,
      removeVolumes: false,
      restartCount: 0,
      health: null,
      createdAt: new Date(),
      startedAt: null,
      finishedAt: null,
    };
    try {
      await context.db.transaction(async (client) => {
        await context.repository.insert(client, container);
        await recordEvent(context, client, container, 'create');
      });
      context.watch.changed(id, container);
      return container;
    } catch (err) {
      const clash = (err as { code?: string; constraint?: string }).code === '23505';
      if (!clash) throw err;
      if (requestedName !== undefined) await refuseTakenName(context, requestedName);
      if (attempt >= NAME_ATTEMPTS) throw err;
    }
  }
}

async function refuseTakenName(context: RuntimeContext, name: string): Promise<void> {
  const holder = await context.repository.byName(name);
  if (holder !== undefined) {
    throw alreadyExists(`the container name "${name}" is already in use by container ${holder.id.slice(0, 12)}: remove or rename that container, or choose another name`);
  }
}
