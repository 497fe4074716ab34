import type { network, runtime } from '../../../libs/proto';
import { HOST_MODE, namespaceOf, namespacePath, type ContainerAttachments, type Endpoint, type Network, type PublishedPort } from '../network';
import { containerPaths, statusLine, type Container, type LogLine, type MountSpec, type StatsReading } from '../containers';
import type { LayerStore } from '../layers';

/** Proto from domain: nothing else happens here. */

export function toSummary(container: Container, attachments: ContainerAttachments | undefined, nodeUnreachable = false): runtime.ContainerSummary {
  return {
    id: container.id,
    name: container.name,
    image: container.imageName,
    imageId: container.imageId,
    command: container.spec.argv.join(' '),
    created: container.createdAt,
    state: nodeUnreachable ? 'unknown' : container.state,
    status: nodeUnreachable ? `Unknown (node ${container.node} is unreachable; last ${statusLine(container)})` : statusLine(container),
    labels: container.spec.labels,
    node: container.node,
    ports: (attachments?.ports ?? []).map(toPortBinding),
    networks: (attachments?.endpoints ?? []).map((endpoint) => endpoint.network.name),
  };
}

/**
 * A container as inspect shows it. The record of a container whose node is unreachable is shown
 * with its state unknown and without the paths on that node's disk, which this agent cannot know.
 */
export function toDetail(container: Container, stateDir: string, layers: LayerStore, attachments: ContainerAttachments | undefined, nodeUnreachable = false): runtime.ContainerDetail {
  const { spec } = container;
  const paths = containerPaths(stateDir, container.id);
  return {
    id: container.id,
    name: container.name,
    created: container.createdAt,
    state: {
      status: nodeUnreachable ? 'unknown' : container.state,
      pid: container.pid,
      exitCode: container.exitCode,
      error: container.error,
      oomKilled: container.oomKilled,
      startedAt: container.startedAt ?? undefined,
      finishedAt: container.finishedAt ?? undefined,
      health: container.health === null ? undefined : {
        status: container.health.status,
        failingStreak: container.health.failingStreak,
        log: container.health.log.map((entry) => ({ start: new Date(entry.start), end: new Date(entry.end), exitCode: entry.exitCode, output: entry.output })),
      },
    },
    imageId: container.imageId,
    path: spec.argv[0] ?? '',
    args: spec.argv.slice(1),
    config: {
      image: container.imageName,
      cmd: spec.cmd === null ? undefined : { values: spec.cmd },
      entrypoint: spec.entrypoint === null ? undefined : { values: spec.entrypoint },
      env: spec.env,
      workingDir: spec.workingDir,
      user: spec.user,
      hostname: spec.hostname,
      labels: spec.labels,
      tty: spec.tty,
      openStdin: spec.openStdin,
      stopSignal: spec.stopSignal,
      stopTimeout: spec.stopTimeoutSeconds,
      healthcheck: spec.healthcheck,
      exposedPorts: spec.network?.exposedPorts ?? [],
    },
    hostConfig: {
      resources: { memoryBytes: spec.resources.memoryBytes ?? 0, cpus: spec.resources.cpus ?? 0, pidsLimit: spec.resources.pidsLimit ?? 0 },
      readOnlyRoot: spec.readOnlyRoot,
      mounts: spec.mounts.map(toMount),
      restartPolicy: spec.restartPolicy,
      autoRemove: spec.autoRemove,
      privileged: spec.privileged,
      runtime: spec.runtime,
      networkMode: spec.network?.mode ?? 'none',
      portBindings: (spec.network?.ports ?? []).map((port) => ({ ...port })),
      publishAllPorts: spec.network?.publishAll ?? false,
      networkAliases: spec.network?.aliases ?? [],
    },
    restartCount: container.restartCount,
    node: container.node,
    placement: container.placement,
    graphDriver: nodeUnreachable
      ? {}
      : {
          LowerDir: [...container.layers].reverse().map((chainId) => layers.path(chainId)).join(':'),
          UpperDir: paths.overlay.upper,
          WorkDir: paths.overlay.work,
          MergedDir: paths.overlay.merged,
        },
    logPath: nodeUnreachable ? '' : paths.log,
    runtime: spec.runtime,
    mountPoints: spec.mounts.map(toMountPoint),
    networks: (attachments?.endpoints ?? []).map((endpoint) => toEndpoint(endpoint, container.name)),
    ports: (attachments?.ports ?? []).map(toPortBinding),
    sandboxKey: container.state === 'running' || container.state === 'paused' ? sandboxKeyOf(container) : '',
  };
}

function toMount(mount: MountSpec): runtime.Mount {
  return {
    type: mount.type,
    source: mount.source,
    target: mount.target,
    readOnly: mount.readOnly,
    options: mount.options,
    noCopy: mount.noCopy ?? false,
    volumeOptions: mount.volumeOptions ?? {},
    volumeLabels: mount.volumeLabels ?? {},
    createSource: mount.createSource ?? false,
  };
}

function toMountPoint(mount: MountSpec): runtime.MountPoint {
  const volume = mount.type === 'volume';
  return {
    type: mount.type,
    name: volume ? mount.source : '',
    source: volume ? (mount.hostPath ?? '') : mount.type === 'bind' ? mount.source : '',
    destination: mount.target,
    driver: volume ? 'local' : '',
    readOnly: mount.readOnly,
  };
}

export function toLogResponse(line: LogLine): runtime.LogsResponse {
  return { time: line.time, stream: line.stream === 'stdout' ? 1 : 2, data: line.data };
}

export function toStats(container: Container, reading: StatsReading, cpuPercent: number): runtime.StatsResponse {
  return { ...reading, cpuPercent, id: container.id, name: container.name };
}

export function toPortBinding(port: PublishedPort): runtime.PortBinding {
  return { containerPort: port.containerPort, protocol: port.protocol, hostIp: port.hostIp, hostPort: port.hostPort };
}

export function toEndpoint(endpoint: Endpoint & { network: Network }, containerName: string): network.NetworkEndpoint {
  return {
    networkId: endpoint.networkId,
    networkName: endpoint.network.name,
    containerId: endpoint.containerId,
    containerName,
    ipAddress: endpoint.address,
    prefixLength: Number(endpoint.network.subnet.split('/')[1]),
    gateway: endpoint.network.gateway,
    macAddress: endpoint.mac,
    aliases: endpoint.aliases,
  };
}

export function toNetwork(item: Network, endpoints: network.NetworkEndpoint[], node: string): network.Network {
  return {
    id: item.id,
    name: item.name,
    driver: 'bridge',
    scope: 'local',
    subnet: item.subnet,
    gateway: item.gateway,
    internal: item.internal,
    labels: item.labels,
    created: item.createdAt,
    bridge: item.bridge,
    endpoints,
    node,
  };
}

/** Where its network namespace is, while it runs; host-networked containers have none. */
function sandboxKeyOf(container: Container): string {
  return container.spec.network?.mode === HOST_MODE ? '' : namespacePath(namespaceOf(container.id));
}
