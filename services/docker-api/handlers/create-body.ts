import { invalidArgument } from '../../../libs/errors';
import { runtime } from '../../../libs/proto';

/** The parts of Docker's POST /containers/create body that Berth honours. */
export interface DockerCreateBody {
  Image?: string;
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Hostname?: string;
  Labels?: Record<string, string> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StopSignal?: string;
  StopTimeout?: number | null;
  ExposedPorts?: Record<string, unknown> | null;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number } | null;
  HostConfig?: DockerHostConfig | null;
  NetworkingConfig?: { EndpointsConfig?: Record<string, { Aliases?: string[] | null } | null> | null } | null;
}

interface DockerHostConfig {
  Binds?: string[] | null;
  Mounts?: Array<{ Type?: string; Source?: string; Target?: string; ReadOnly?: boolean; VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Options?: Record<string, string> } }; TmpfsOptions?: { SizeBytes?: number; Mode?: number } }> | null;
  Tmpfs?: Record<string, string> | null;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
  AutoRemove?: boolean;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  Memory?: number;
  NanoCpus?: number;
  PidsLimit?: number | null;
  NetworkMode?: string;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  PublishAllPorts?: boolean;
  Runtime?: string;
  [field: string]: unknown;
}

/**
 * HostConfig fields Berth has no way to honour: a request that sets one is refused with the field
 * named, rather than run without it. (Docker's clients send most fields empty, which is fine.)
 */
const UNSUPPORTED_HOST_FIELDS = ['CapAdd', 'CapDrop', 'Devices', 'DeviceRequests', 'Dns', 'DnsSearch', 'DnsOptions', 'ExtraHosts', 'SecurityOpt', 'Ulimits', 'Sysctls', 'VolumesFrom', 'Links', 'PidMode', 'UsernsMode', 'CpuShares', 'CpusetCpus', 'CpuQuota', 'MemorySwap', 'MemoryReservation', 'GroupAdd'];

/** Docker's create body as Berth's CreateRequest; INVALID_ARGUMENT for what cannot be honoured. */
export function createRequestOf(name: string, platform: string, body: DockerCreateBody): runtime.CreateRequest {
  if (body.Image === undefined || body.Image === '') throw invalidArgument('Config.Image is required');
  const host = body.HostConfig ?? {};
  for (const field of UNSUPPORTED_HOST_FIELDS) {
    if (isSet(host[field])) throw invalidArgument(`HostConfig.${field} is not supported by Berth`);
  }
  const endpoints = Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {});
  return runtime.CreateRequest.fromPartial({
    name,
    platform,
    config: {
      image: body.Image,
      cmd: args(body.Cmd),
      entrypoint: args(body.Entrypoint),
      env: body.Env ?? [],
      workingDir: body.WorkingDir ?? '',
      user: body.User ?? '',
      hostname: body.Hostname ?? '',
      labels: body.Labels ?? {},
      tty: body.Tty ?? false,
      openStdin: body.OpenStdin ?? false,
      stopSignal: body.StopSignal ?? '',
      stopTimeout: body.StopTimeout ?? undefined,
      exposedPorts: Object.keys(body.ExposedPorts ?? {}),
      healthcheck:
        body.Healthcheck?.Test === undefined || body.Healthcheck.Test.length === 0
          ? undefined
          : {
              test: body.Healthcheck.Test,
              intervalMs: Math.round((body.Healthcheck.Interval ?? 0) / 1e6),
              timeoutMs: Math.round((body.Healthcheck.Timeout ?? 0) / 1e6),
              retries: body.Healthcheck.Retries ?? 0,
              startPeriodMs: Math.round((body.Healthcheck.StartPeriod ?? 0) / 1e6),
            },
    },
    hostConfig: {
      resources: { memoryBytes: host.Memory ?? 0, cpus: (host.NanoCpus ?? 0) / 1e9, pidsLimit: host.PidsLimit ?? 0 },
      readOnlyRoot: host.ReadonlyRootfs ?? false,
      mounts: [...(host.Binds ?? []).map(bindMount), ...(host.Mounts ?? []).map(apiMount), ...Object.entries(host.Tmpfs ?? {}).map(([target, options]) => ({ type: 'tmpfs', target, options }))],
      restartPolicy: { name: host.RestartPolicy?.Name || 'no', maximumRetryCount: host.RestartPolicy?.MaximumRetryCount ?? 0 },
      autoRemove: host.AutoRemove ?? false,
      privileged: host.Privileged ?? false,
      runtime: host.Runtime ?? '',
      // Docker's "default" is its bridge; Berth's empty mode is the default bridge.
      networkMode: host.NetworkMode === 'default' ? '' : host.NetworkMode ?? '',
      portBindings: Object.entries(host.PortBindings ?? {}).flatMap(([key, bindings]) => (bindings ?? [{}]).map((binding) => portBinding(key, binding))),
      publishAllPorts: host.PublishAllPorts ?? false,
      networkAliases: endpoints.flatMap(([, endpoint]) => endpoint?.Aliases ?? []),
    },
  });
}

/** Whether a client set a field: Docker's clients send every field, most of them empty or zero. */
export function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === 0 || value === false) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.values(value).some(isSet);
  return true;
}

/** Cmd and Entrypoint: absent is the image's; a string is a shell-less single word list, as Docker's API takes it. */
function args(value: string[] | string | null | undefined): { values: string[] } | undefined {
  if (value === undefined || value === null) return undefined;
  return { values: typeof value === 'string' ? [value] : value };
}

/** "SOURCE:TARGET[:ro]": a host path (made if missing, as -v does) or a volume name. */
function bindMount(bind: string): Partial<runtime.Mount> {
  const [source = '', target, options = ''] = bind.split(':');
  if (target === undefined || !target.startsWith('/')) throw invalidArgument(`invalid bind mount "${bind}": SOURCE:TARGET[:ro] with an absolute target`);
  const readOnly = options.split(',').includes('ro');
  return source.startsWith('/') ? { type: 'bind', source, target, readOnly, createSource: true } : { type: 'volume', source, target, readOnly };
}

function apiMount(mount: NonNullable<DockerHostConfig['Mounts']>[number]): Partial<runtime.Mount> {
  const type = mount.Type ?? 'volume';
  if (!['bind', 'volume', 'tmpfs'].includes(type)) throw invalidArgument(`mount type "${type}" is not supported by Berth`);
  if (mount.Target === undefined || !mount.Target.startsWith('/')) throw invalidArgument('a mount needs an absolute Target');
  const tmpfs = mount.TmpfsOptions;
  return {
    type,
    source: mount.Source ?? '',
    target: mount.Target,
    readOnly: mount.ReadOnly ?? false,
    noCopy: mount.VolumeOptions?.NoCopy ?? false,
    volumeLabels: mount.VolumeOptions?.Labels ?? {},
    volumeOptions: mount.VolumeOptions?.DriverConfig?.Options ?? {},
    options: [tmpfs?.SizeBytes ? `size=${tmpfs.SizeBytes}` : '', tmpfs?.Mode ? `mode=${tmpfs.Mode.toString(8)}` : ''].filter(Boolean).join(','),
  };
}

function portBinding(key: string, binding: { HostIp?: string; HostPort?: string }): Partial<runtime.PortBinding> {
  const match = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
  if (match === null) throw invalidArgument(`invalid port "${key}"`);
  const hostPort = binding.HostPort === undefined || binding.HostPort === '' ? 0 : Number(binding.HostPort);
  if (!Number.isInteger(hostPort) || hostPort < 0 || hostPort > 65535) throw invalidArgument(`invalid host port "${binding.HostPort}"`);
  return { containerPort: Number(match[1]), protocol: match[2] ?? 'tcp', hostIp: binding.HostIp ?? '', hostPort };
}
