import { invalidArgument, isBerthError, messageOf } from '../../../libs/errors';
import { imagestore, type runtime } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { imageStore, runtimeAgent } from '../../client';
import { printInspected } from '../../output';
import { dockerExposedPorts, dockerNetworkSettings, dockerPortBindings } from './network-settings';

/** `berth container inspect [-f FORMAT] CONTAINER...`: Docker's JSON shape. */
export async function inspectContainers(args: string[]): Promise<number> {
  return inspectAny(args, false);
}

/** `berth inspect [-f FORMAT] NAME...`: a container, else an image, by that name. */
export async function inspect(args: string[]): Promise<number> {
  return inspectAny(args, true);
}

async function inspectAny(args: string[], orImage: boolean): Promise<number> {
  const { values, positionals } = parseFlags(args, { format: { type: 'string', short: 'f' } }, 'inspect');
  if (positionals.length === 0) throw invalidArgument('inspect: give at least one container');
  const agent = runtimeAgent();
  const found: unknown[] = [];
  let failed = false;
  try {
    for (const name of positionals) {
      try {
        found.push(await inspectOne(agent, name, orImage));
      } catch (err) {
        process.stderr.write(`berth: ${messageOf(err)}\n`);
        failed = true;
      }
    }
  } finally {
    agent.close();
  }
  printInspected(found, values.format);
  return failed ? 1 : 0;
}

async function inspectOne(agent: ReturnType<typeof runtimeAgent>, name: string, orImage: boolean): Promise<unknown> {
  try {
    const response = await agent.call<runtime.InspectResponse>((m, o, cb) => agent.client.inspect({ container: name }, m, o, cb));
    return dockerContainer(response.container!);
  } catch (err) {
    if (!orImage || !isBerthError(err, 'not_found')) throw err;
  }
  const store = imageStore(agent.config);
  try {
    const response = await store.call<imagestore.InspectResponse>((m, o, cb) => store.client.inspect({ image: name }, m, o, cb));
    return imagestore.ImageDetail.toJSON(response.image!);
  } catch (err) {
    if (isBerthError(err, 'not_found')) throw invalidArgument(`no such object: ${name}`);
    throw err;
  } finally {
    store.close();
  }
}

/** A container as `docker inspect` shows it. */
export function dockerContainer(c: runtime.ContainerDetail): Record<string, unknown> {
  const state = c.state!;
  const config = c.config!;
  const host = c.hostConfig!;
  return {
    Id: c.id,
    Created: c.created?.toISOString(),
    Path: c.path,
    Args: c.args,
    State: {
      Status: state.status,
      Running: state.status === 'running' || state.status === 'paused',
      Paused: state.status === 'paused',
      Restarting: state.status === 'restarting',
      OOMKilled: state.oomKilled,
      Dead: state.status === 'dead',
      Pid: state.pid,
      ExitCode: state.exitCode,
      Error: state.error,
      StartedAt: state.startedAt?.toISOString() ?? '0001-01-01T00:00:00Z',
      FinishedAt: state.finishedAt?.toISOString() ?? '0001-01-01T00:00:00Z',
      ...(state.health === undefined
        ? {}
        : {
            Health: {
              Status: state.health.status,
              FailingStreak: state.health.failingStreak,
              Log: state.health.log.map((l) => ({ Start: l.start?.toISOString(), End: l.end?.toISOString(), ExitCode: l.exitCode, Output: l.output })),
            },
          }),
    },
    Image: c.imageId,
    LogPath: c.logPath,
    Name: `/${c.name}`,
    RestartCount: c.restartCount,
    Driver: 'overlay',
    Platform: 'linux',
    Node: c.node,
    Placement: c.placement,
    HostConfig: {
      // As -v writes them; anonymous volumes have no source to write (Docker leaves them out too).
      Binds: host.mounts.filter((m) => (m.type === 'bind' || m.type === 'volume') && m.source !== '').map((m) => `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`),
      Tmpfs: Object.fromEntries(host.mounts.filter((m) => m.type === 'tmpfs').map((m) => [m.target, m.options])),
      RestartPolicy: { Name: host.restartPolicy?.name ?? 'no', MaximumRetryCount: host.restartPolicy?.maximumRetryCount ?? 0 },
      AutoRemove: host.autoRemove,
      Privileged: host.privileged,
      ReadonlyRootfs: host.readOnlyRoot,
      Memory: host.resources?.memoryBytes ?? 0,
      NanoCpus: Math.round((host.resources?.cpus ?? 0) * 1e9),
      PidsLimit: host.resources?.pidsLimit || null,
      Runtime: c.runtime,
      // Empty is the default bridge (Berth's proto says so); Docker names it.
      NetworkMode: host.networkMode || 'bridge',
      PortBindings: dockerPortBindings(host.portBindings),
      PublishAllPorts: host.publishAllPorts,
    },
    GraphDriver: { Name: 'overlay2', Data: c.graphDriver },
    Mounts: c.mountPoints.map(dockerMount),
    Config: {
      Hostname: config.hostname,
      User: config.user,
      ...dockerExposedPorts(config, host),
      Tty: config.tty,
      OpenStdin: config.openStdin,
      Env: config.env,
      Cmd: config.cmd?.values ?? null,
      Entrypoint: config.entrypoint?.values ?? null,
      Image: config.image,
      WorkingDir: config.workingDir,
      Labels: config.labels,
      StopSignal: config.stopSignal,
      StopTimeout: config.stopTimeout,
      ...(config.healthcheck === undefined
        ? {}
        : {
            Healthcheck: {
              Test: config.healthcheck.test,
              Interval: config.healthcheck.intervalMs * 1e6,
              Timeout: config.healthcheck.timeoutMs * 1e6,
              Retries: config.healthcheck.retries,
              StartPeriod: config.healthcheck.startPeriodMs * 1e6,
            },
          }),
    },
    NetworkSettings: dockerNetworkSettings(c),
  };
}

/** A mount as `docker inspect` shows it: volumes with their name and driver, binds with their propagation. */
function dockerMount(m: runtime.MountPoint): Record<string, unknown> {
  const isVolume = m.type === 'volume';
  return {
    Type: m.type,
    ...(isVolume ? { Name: m.name } : {}),
    Source: m.source,
    Destination: m.destination,
    ...(isVolume ? { Driver: m.driver } : {}),
    Mode: m.readOnly ? 'ro' : '',
    RW: !m.readOnly,
    Propagation: m.type === 'bind' ? 'rprivate' : '',
  };
}
