import { readFileSync } from 'node:fs';
import { mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, failedPrecondition, isBerthError, messageOf, resourceExhausted, type ErrorKind } from '../../../libs/errors';
import { createWithConmon, runtimeConfig, type OciMount } from '../oci';
import { setUpSandbox, tearDownSandbox, type Sandbox } from '../network';
import { mountOverlay, unmountOverlay } from '../rootfs';
import type { RuntimeContext } from './context';
import { recordEvent } from './events';
import { startHealthChecks } from './health';
import { findLocalContainer, requireState } from './lookup';
import type { Container, MountSpec } from './model';
import { containerPaths, exitsDir } from './paths';
import { autoRemove } from './exits';
import { resolveUser } from './users';
import { mountVolumes, unmountVolumes } from './volumes';

/**
 * `docker start`: a created or exited container runs again; a running one is left as it is.
 * beforeStart runs once the container exists but before its process does (attach uses it).
 */
export async function startContainer(context: RuntimeContext, text: string, beforeStart?: () => Promise<void>): Promise<Container> {
  const { id } = await findLocalContainer(context, text);
  return context.locks.run(id, async () => {
    const container = await currentContainer(context, id);
    if (container.state === 'running') return container;
    requireState(container, 'start', ['created', 'exited', 'restarting']);
    clearTimeout(context.timers.get(id));
    context.timers.delete(id);
    return launchContainer(context, container, { byPolicy: false, beforeStart });
  });
}

/** The container as its row is now (under the lock, the row may have changed since the lookup). */
export async function currentContainer(context: RuntimeContext, id: string): Promise<Container> {
  const container = await context.repository.get(id);
  if (container === undefined) throw failedPrecondition(`container ${id.slice(0, 12)} was removed meanwhile`);
  return container;
}

/**
 * Runs a container's process: its root is mounted over the image's layers, its OCI config written,
 * and conmon starts it through the runtime (conmon, not this agent, is its parent, so that it
 * survives the agent). Call with the container's lock held.
 */
export async function launchContainer(
  context: RuntimeContext,
  container: Container,
  options: { byPolicy: boolean; beforeStart?: () => Promise<void> },
): Promise<Container> {
  const paths = containerPaths(context.stateDir, container.id);
  const { spec } = container;
  let pid: number;
  try {
    // The root and the network are independent: made side by side, each waited for before any undo.
    const [{ user, volumePaths }, sandbox] = await settled(
      (async () => {
        await unmountOverlay(paths.overlay);
        await mountOverlay(container.layers.map((chainId) => context.layers.path(chainId)), paths.overlay);
        const user = await resolveUser(paths.overlay.merged, spec.user);
        return { user, volumePaths: await mountVolumes(context, container, paths.overlay.merged) };
      })(),
      setUpSandbox(context.networks, { id: container.id, hostname: spec.hostname, network: spec.network }, paths.dir),
    );
    const config = runtimeConfig({
      args: spec.argv,
      env: spec.env,
      cwd: spec.workingDir,
      uid: user.uid,
      gid: user.gid,
      additionalGids: user.additionalGids,
      hostname: spec.hostname,
      terminal: spec.tty,
      readonlyRoot: spec.readOnlyRoot,
      memoryBytes: spec.resources.memoryBytes,
      cpus: spec.resources.cpus,
      pidsLimit: spec.resources.pidsLimit,
      privileged: spec.privileged,
      cgroupsPath: `/berth/${container.id}`,
      rootfs: paths.overlay.merged,
      nofile: hostOpenFilesLimit(),
      mounts: [...spec.mounts.map((mount) => ociMount(mount, volumePaths)), ...etcMounts(sandbox, spec.mounts)],
      network: sandbox.namespacePath ?? 'host',
    });
    await writeFile(paths.config, JSON.stringify(config));
    await Promise.all([rm(join(exitsDir(context.stateDir), container.id), { force: true }), rm(paths.persist, { recursive: true, force: true })]);
    await mkdir(paths.persist, { recursive: true });
    // An earlier run the runtime still remembers (an agent that died before cleaning up) is in the way.
    await context.runtime.delete(container.id, true);
    pid = await createWithConmon({
      conmon: context.conmon,
      runtime: spec.runtime,
      runtimeArgs: context.runtime.globalArgs,
      id: container.id,
      bundle: paths.dir,
      exitDir: exitsDir(context.stateDir),
      logPath: paths.log,
      logSizeMax: context.logSizeMax,
      conmonPidFile: paths.conmonPid,
      persistDir: paths.persist,
      socketDir: context.attachDir,
      stdin: spec.openStdin,
      tty: spec.tty,
    });
    // Attached before the process runs, so that a client sees its output from the first byte.
    await options.beforeStart?.();
    await context.networks.resolveWhileStarting(container.id);
    await context.runtime.start(container.id).catch(async (err: unknown) => {
      await context.networks.startSettled(container.id, true);
      throw err;
    });
    await context.networks.startSettled(container.id, false);
  } catch (err) {
    await undoLaunch(context, container);
    throw await recordStartFailure(context, container, err);
  }

  // Nothing runs that the record does not say runs: when the record cannot be written (Postgres
  // away), the process goes again and the caller may try once more.
  const started = await context.db.transaction(async (client) => {
    const updated = await context.repository.update(client, container.id, {
      state: 'running',
      pid,
      exitCode: 0,
      error: '',
      oomKilled: false,
      stoppedByUser: false,
      startedAt: new Date(),
      restartCount: options.byPolicy ? container.restartCount + 1 : container.restartCount,
      health: spec.healthcheck !== undefined ? { status: 'starting', failingStreak: 0, log: [] } : null,
    });
    await recordEvent(context, client, updated, 'start');
    return updated;
  }).catch(async (err: unknown) => {
    await undoLaunch(context, container);
    throw err;
  });
  context.watch.changed(started.id, started);
  await context.networks.refreshNames();
  startHealthChecks(context, started);
  return started;
}

/** Both results once both are done; the first failure if either failed. */
async function settled<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [first, second] = await Promise.allSettled([a, b]);
  if (first.status === 'rejected') throw first.reason;
  if (second.status === 'rejected') throw second.reason;
  return [first.value, second.value];
}

/** Takes back what a launch made: the runtime's container and its process, the sandbox, the mounts. */
async function undoLaunch(context: RuntimeContext, container: Container): Promise<void> {
  await context.runtime.delete(container.id, true).catch(() => undefined);
  await tearDownSandbox(context.networks, container.id).catch(() => undefined);
  await unmountVolumes(context, container);
  await unmountOverlay(containerPaths(context.stateDir, container.id).overlay).catch(() => undefined);
}

/**
 * A process that could not start leaves the container with Docker's exit codes: 127 for a command
 * that does not exist, 126 for one that cannot be run; the error names the reason.
 */
async function recordStartFailure(context: RuntimeContext, container: Container, err: unknown): Promise<Error> {
  const message = messageOf(err);
  const exitCode = /executable file not found|no such file or directory/i.test(message) ? 127 : /permission denied|exec format error/i.test(message) ? 126 : undefined;
  const failed = await context.repository.update(context.db.pool, container.id, {
    // Docker leaves a container that never ran as created.
    state: container.state === 'created' ? 'created' : 'exited',
    ...(exitCode !== undefined ? { exitCode } : {}),
    error: message,
    pid: 0,
  });
  context.watch.changed(failed.id, failed);
  // A full disk is worth naming. The runtime does not always say why it could not write its state,
  // and by the time the disk is looked at the space may be back: its words for a failed write count.
  if (/no space left on device|unable to store init state/i.test(message) || (await stateDiskFull(context.stateDir))) return resourceExhausted(`cannot start container ${container.name}: the state disk (${context.stateDir}) is full: ${message}`);
  const outage = isBerthError(err) && OUTAGES.includes(err.kind);
  // A start refused for good (no such program, a volume that will not mount) ends a --rm container,
  // as Docker's does; after an outage the caller may try again, so it stays.
  if (!outage && container.spec.autoRemove) autoRemove(context, container.id);
  if (!isBerthError(err)) return err as Error;
  // A service or the database away is an outage the caller may wait out, not a refusal.
  return new BerthError(outage ? err.kind : 'failed_precondition', `cannot start container ${container.name}: ${message}`);
}

const OUTAGES: ErrorKind[] = ['unavailable', 'deadline_exceeded', 'resource_exhausted'];

/** The network's /etc/hosts, /etc/resolv.conf and /etc/hostname, bound over the image's unless the user mounts their own. */
function etcMounts(sandbox: Sandbox, mounts: MountSpec[]): OciMount[] {
  const files = [['/etc/hosts', sandbox.files.hosts], ['/etc/resolv.conf', sandbox.files.resolvConf], ['/etc/hostname', sandbox.files.hostname]] as const;
  return files.filter(([target]) => !mounts.some((mount) => mount.target === target)).map(([destination, source]) => ({ destination, type: 'bind', source, options: ['rbind', 'rw'] }));
}

/** A mount of the spec in the OCI config; a volume is a bind of the host directory its service gave. */
function ociMount(mount: MountSpec, volumePaths: Map<string, string>): OciMount {
  if (mount.type === 'bind' || mount.type === 'volume') {
    const source = mount.type === 'volume' ? volumePaths.get(mount.target)! : mount.source;
    return { destination: mount.target, type: 'bind', source, options: ['rbind', mount.readOnly ? 'ro' : 'rw'] };
  }
  const options = ['nosuid', 'nodev', 'noexec', ...(mount.options === '' ? [] : mount.options.split(',')), ...(mount.readOnly ? ['ro'] : [])];
  return { destination: mount.target, type: 'tmpfs', source: 'tmpfs', options };
}

let openFilesLimit: number | undefined;

/** The agent's own hard limit of open files: the runtime refuses to give a container more. */
function hostOpenFilesLimit(): number {
  if (openFilesLimit === undefined) {
    const line = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    openFilesLimit = line?.[1] === 'unlimited' || line === null ? 1_048_576 : Math.min(Number(line[1]), 1_048_576);
  }
  return openFilesLimit;
}

/** Whether the state directory's file system has (almost) no room left. */
async function stateDiskFull(stateDir: string): Promise<boolean> {
  const { bavail, bsize } = await statfs(stateDir).catch(() => ({ bavail: Infinity, bsize: 1 }));
  return bavail * bsize < 1024 * 1024;
}
