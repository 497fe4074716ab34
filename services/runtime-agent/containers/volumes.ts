import { mkdir } from 'node:fs/promises';
import { isBerthError, messageOf } from '../../../libs/errors';
import { resolveInRoot } from '../rootfs';
import type { RuntimeContext } from './context';
import type { Container, MountSpec, RunSpec } from './model';

/**
 * What a container's mounts need before it is recorded: the volume service records its use of each
 * volume (making missing named ones and new anonymous ones, whose names go into the spec), and a
 * `-v` bind's missing host directory is made. If a use cannot be recorded, those made already are
 * released, so that nothing is left behind.
 */
export async function prepareMounts(context: RuntimeContext, id: string, spec: RunSpec): Promise<RunSpec> {
  const mounts: MountSpec[] = [];
  try {
    for (const mount of spec.mounts) {
      if (mount.type === 'bind' && mount.createSource) await mkdir(mount.source, { recursive: true, mode: 0o755 });
      if (mount.type !== 'volume') {
        mounts.push(mount);
        continue;
      }
      const volume = await context.volumes.use(id, mount.source, mount.volumeOptions ?? {}, mount.volumeLabels ?? {});
      mounts.push({ ...mount, source: volume.name, hostPath: volume.mountpoint });
    }
  } catch (err) {
    // What cannot be released now, the caller's sweep of orphaned uses releases later.
    await releaseVolumes(context, { id, spec: { ...spec, mounts } }, true).catch(() => undefined);
    throw err;
  }
  return { ...spec, mounts };
}

/**
 * Mounts a starting container's volumes: each one's host directory, keyed by target, filled first
 * from the image's content at the target when the volume is empty (unless noCopy).
 */
export async function mountVolumes(context: RuntimeContext, container: Container, rootDir: string): Promise<Map<string, string>> {
  const paths = new Map<string, string>();
  for (const mount of volumeMounts(container)) {
    const populateFrom = mount.noCopy ? '' : await imageContentAt(rootDir, mount.target);
    paths.set(mount.target, await context.volumes.mount(container.id, mount.source, populateFrom));
  }
  return paths;
}

/** The container's process ended: its volumes' mounts are released (a failure is logged, not thrown). */
export async function unmountVolumes(context: RuntimeContext, container: Container): Promise<void> {
  for (const mount of volumeMounts(container)) {
    await context.volumes.unmount(container.id, mount.source).catch((err: unknown) => {
      context.logger.warn({ container: container.id, volume: mount.source }, `volume unmount: ${messageOf(err)}`);
    });
  }
}

/** The container is removed: its uses of volumes go, and with removeAnonymous its anonymous volumes. */
export async function releaseVolumes(context: RuntimeContext, container: Pick<Container, 'id' | 'spec'>, removeAnonymous: boolean): Promise<void> {
  for (const mount of volumeMounts(container)) {
    await context.volumes.unmount(container.id, mount.source);
    await context.volumes.release(container.id, mount.source, removeAnonymous);
  }
}

function volumeMounts(container: Pick<Container, 'spec'>): MountSpec[] {
  return container.spec.mounts.filter((mount) => mount.type === 'volume' && mount.source !== '');
}

/** The host path of what the image holds at a path of the container, or '' when nothing is there. */
async function imageContentAt(rootDir: string, target: string): Promise<string> {
  try {
    return await resolveInRoot(rootDir, target, { followLast: true });
  } catch (err) {
    if (isBerthError(err, 'not_found')) return '';
    throw err;
  }
}
