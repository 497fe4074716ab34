import type { runtime } from '../proto';
import { dockerExposedPorts, dockerNetworkSettings, dockerPortBindings } from './network-settings';

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
