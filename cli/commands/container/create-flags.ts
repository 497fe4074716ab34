import { readFileSync } from 'node:fs';
import { invalidArgument } from '../../../libs/errors';
import type { runtime } from '../../../libs/proto';
import { keyValueMap, splitOnce, type Flags } from '../../args';
import { parseBytes, parseDurationMs } from '../../units';
import { parseExpose, parsePublish } from './publish-flags';

/** The flags `run` and `create` share, as Docker's. */
export const CREATE_FLAGS = {
  name: { type: 'string', value: 'NAME', description: 'Assign a name to the container' },
  env: { type: 'string', short: 'e', multiple: true, value: 'KEY=VALUE', description: 'Set an environment variable in the container; NAME alone takes its value from your environment' },
  'env-file': { type: 'string', multiple: true, value: 'FILE', description: 'Read environment variables from a file, one KEY=VALUE a line (blank and # lines skipped)' },
  workdir: { type: 'string', short: 'w', value: 'DIR', description: "Working directory inside the container, an absolute path (default the image's, else /)" },
  user: { type: 'string', short: 'u', value: 'USER[:GROUP]', description: 'Run as this user: a name or UID, optionally with :GROUP or :GID' },
  hostname: { type: 'string', short: 'h', value: 'NAME', description: 'Container host name (default the first 12 characters of its id)' },
  label: { type: 'string', short: 'l', multiple: true, value: 'KEY=VALUE', description: 'Set a label on the container' },
  memory: { type: 'string', short: 'm', value: 'SIZE', description: 'Memory limit, in bytes or with a unit: b, k, m, g, t (e.g. 64m or 1g; at least 6m)' },
  cpus: { type: 'string', value: 'NUMBER', description: "Number of CPUs the container may use, e.g. 1.5 (from 0.01 to the host's count)" },
  'pids-limit': { type: 'string', value: 'NUMBER', description: 'Maximum number of processes in the container (0 or -1 for no limit)' },
  restart: { type: 'string', value: 'POLICY', description: 'Restart policy when the container exits: no, always, unless-stopped or on-failure[:MAX_RETRIES] (default no)' },
  'read-only': { type: 'boolean', description: "Mount the container's root filesystem read only" },
  tmpfs: { type: 'string', multiple: true, value: 'PATH[:OPTIONS]', description: 'Mount a tmpfs at PATH, with mount options such as size=64m,mode=1777' },
  volume: { type: 'string', short: 'v', multiple: true, value: '[SOURCE:]PATH[:MODE]', description: 'Mount /PATH (a new anonymous volume), NAME:/PATH (a named volume) or /HOST_DIR:/PATH (a bind); MODE is ro or rw' },
  mount: { type: 'string', multiple: true, value: 'KEY=VALUE,...', description: 'Attach a mount: type=volume|bind|tmpfs (default volume), source, target, readonly, volume-nocopy, volume-opt, volume-label, tmpfs-size, tmpfs-mode' },
  entrypoint: { type: 'string', value: 'PROGRAM', description: 'Override the image\'s entrypoint with one program, without arguments ("" for none); the image\'s CMD is dropped' },
  'health-cmd': { type: 'string', value: 'COMMAND', description: "Command that checks the container's health, run with sh -c (exit 0 is healthy)" },
  'health-interval': { type: 'string', value: 'DURATION', description: 'Time between health checks, in ms, s, m or h, e.g. 1m30s (default 30s)' },
  'health-timeout': { type: 'string', value: 'DURATION', description: 'Time a health check may run before it counts as failed (default 30s)' },
  'health-retries': { type: 'string', value: 'NUMBER', description: 'Consecutive failed checks that make the container unhealthy (default 3)' },
  'health-start-period': { type: 'string', value: 'DURATION', description: 'Time after start during which failed checks do not count (default 0s)' },
  'no-healthcheck': { type: 'boolean', description: 'Disable any health check the image defines' },
  'stop-signal': { type: 'string', value: 'SIGNAL', description: "Signal that stops the container, by name or number (default the image's, else SIGTERM)" },
  'stop-timeout': { type: 'string', value: 'SECONDS', description: 'Seconds to wait after the stop signal before SIGKILL (default 10; -1 waits forever)' },
  privileged: { type: 'boolean', description: 'Give the container every capability and device, without seccomp or masked paths' },
  platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', description: 'Platform of the image to run (and to pull when missing), e.g. linux/arm64' },
  runtime: { type: 'string', value: 'RUNTIME', description: 'OCI runtime to run the container with, a program name or path (default the configured runc)' },
  rm: { type: 'boolean', description: 'Remove the container and its anonymous volumes when it exits (not with a restart policy)' },
  interactive: { type: 'boolean', short: 'i', description: 'Keep STDIN open even if not attached' },
  tty: { type: 'boolean', short: 't', description: 'Allocate a pseudo-TTY' },
  publish: { type: 'string', short: 'p', multiple: true, value: '[IP:][HOST_PORT:]PORT', description: 'Publish a container port or range on the host, /udp appended for UDP (IPv4 only; no HOST_PORT: one picked at start)' },
  'publish-all': { type: 'boolean', short: 'P', description: 'Publish every exposed port on a host port picked at start' },
  expose: { type: 'string', multiple: true, value: 'PORT[/PROTOCOL]', description: 'Expose a port or a range (FIRST-LAST) without publishing it, tcp or udp' },
  // Docker takes --net and --net-alias as older spellings; parseArgs has no aliases, so both are flags.
  network: { type: 'string', value: 'NETWORK', description: "Connect the container to a network: bridge (default), host, none, or a network's name or id" },
  net: { type: 'string', value: 'NETWORK', description: 'Same as --network' },
  'network-alias': { type: 'string', multiple: true, value: 'ALIAS', description: 'Add a name other containers on the network reach this one by (user-defined networks only)' },
  'net-alias': { type: 'string', multiple: true, value: 'ALIAS', description: 'Same as --network-alias' },
  // Where in a cluster: a node by name, or constraints on nodes' names and labels (as Swarm's).
  node: { type: 'string', value: 'NODE', description: 'Place the container on this node of the cluster (default the least loaded ready node)' },
  constraint: { type: 'string', multiple: true, value: 'EXPRESSION', description: 'Place only on nodes matching node.name==NAME or node.labels.KEY==VALUE (or != for either)' },
} as const satisfies Flags;

type Values = { [K in keyof typeof CREATE_FLAGS]?: (typeof CREATE_FLAGS)[K] extends { multiple: true } ? string[] : (typeof CREATE_FLAGS)[K] extends { type: 'boolean' } ? boolean : string };

/** The CreateRequest that `run`/`create` flags and `IMAGE [COMMAND [ARG...]]` describe. */
export function createRequest(values: Values, positionals: string[]): runtime.CreateRequest {
  const [image, ...command] = positionals;
  if (image === undefined) throw invalidArgument('give an image: berth run [OPTIONS] IMAGE [COMMAND] [ARG...]');
  const mounts = [...(values.volume ?? []).map(volumeFlag), ...(values.mount ?? []).map(mountFlag), ...(values.tmpfs ?? []).map(tmpfsMount)];
  return {
    name: values.name ?? '',
    platform: values.platform ?? '',
    node: values.node ?? '',
    constraints: values.constraint ?? [],
    placementReason: '',
    config: {
      image,
      cmd: command.length > 0 ? { values: command } : undefined,
      entrypoint: values.entrypoint === undefined ? undefined : { values: values.entrypoint === '' ? [] : [values.entrypoint] },
      env: callerEnv([...(values['env-file'] ?? []).flatMap(readEnvFile), ...(values.env ?? [])]),
      workingDir: values.workdir ?? '',
      user: values.user ?? '',
      hostname: values.hostname ?? '',
      labels: keyValueMap(values.label),
      tty: values.tty ?? false,
      openStdin: values.interactive ?? false,
      stopSignal: values['stop-signal'] ?? '',
      stopTimeout: values['stop-timeout'] === undefined ? undefined : integer(values['stop-timeout'], '--stop-timeout'),
      healthcheck: healthCheck(values),
      exposedPorts: [...new Set((values.expose ?? []).flatMap(parseExpose))],
    },
    hostConfig: {
      resources: {
        memoryBytes: values.memory === undefined ? 0 : parseBytes(values.memory, '--memory'),
        cpus: values.cpus === undefined ? 0 : number(values.cpus, '--cpus'),
        pidsLimit: values['pids-limit'] === undefined ? 0 : integer(values['pids-limit'], '--pids-limit'),
      },
      readOnlyRoot: values['read-only'] ?? false,
      mounts,
      restartPolicy: restartPolicy(values.restart),
      autoRemove: values.rm ?? false,
      privileged: values.privileged ?? false,
      runtime: values.runtime ?? '',
      // Empty: the agent's default, the default bridge.
      networkMode: values.network ?? values.net ?? '',
      portBindings: (values.publish ?? []).flatMap(parsePublish),
      publishAllPorts: values['publish-all'] ?? false,
      networkAliases: [...(values['network-alias'] ?? []), ...(values['net-alias'] ?? [])],
    },
  };
}

/** "no", "always", "unless-stopped", "on-failure[:N]". */
export function restartPolicy(text: string | undefined): runtime.RestartPolicy | undefined {
  if (text === undefined) return undefined;
  const [name, count] = text.split(':', 2);
  return { name: name!, maximumRetryCount: count === undefined ? 0 : integer(count, '--restart') };
}

function healthCheck(values: Values): runtime.HealthCheck | undefined {
  if (values['no-healthcheck']) return { test: ['NONE'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 };
  const given = ['health-cmd', 'health-interval', 'health-timeout', 'health-retries', 'health-start-period'].some((flag) => values[flag as keyof Values] !== undefined);
  if (!given) return undefined;
  return {
    test: values['health-cmd'] === undefined ? [] : ['CMD-SHELL', values['health-cmd']],
    intervalMs: values['health-interval'] === undefined ? 0 : parseDurationMs(values['health-interval'], '--health-interval'),
    timeoutMs: values['health-timeout'] === undefined ? 0 : parseDurationMs(values['health-timeout'], '--health-timeout'),
    retries: values['health-retries'] === undefined ? 0 : integer(values['health-retries'], '--health-retries'),
    startPeriodMs: values['health-start-period'] === undefined ? 0 : parseDurationMs(values['health-start-period'], '--health-start-period'),
  };
}

/**
 * -v as Docker reads it: /CTR (a new anonymous volume), NAME:/CTR (a named volume, made if missing)
 * or /HOST:/CTR (a bind whose missing host directory is made, unlike --mount's), then :ro or :rw.
 */
function volumeFlag(text: string): runtime.Mount {
  const parts = text.split(':');
  const [source = '', target = '', mode] = parts.length === 1 ? ['', ...parts] : parts;
  if (parts.length > 3 || !target.startsWith('/') || (parts.length > 1 && source === '')) {
    throw invalidArgument(`-v ${text}: give /CONTAINER_PATH, NAME:/CONTAINER_PATH or /HOST_PATH:/CONTAINER_PATH, then :ro or :rw`);
  }
  // Docker takes anything not absolute for a volume name, and so refuses relative host paths.
  if (source.startsWith('.')) {
    throw invalidArgument(`-v ${text}: "${source}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw invalidArgument(`-v ${text}: the mode is ro or rw`);
  const readOnly = mode === 'ro';
  if (source.startsWith('/')) return newMount({ type: 'bind', source, target, readOnly, createSource: true });
  return newMount({ type: 'volume', source, target, readOnly });
}

/**
 * --mount type=volume,source=NAME,target=/b[,readonly][,volume-nocopy][,volume-opt=k=v]...[,volume-label=k=v]...
 * (no source: a new anonymous volume), type=bind,source=/a,target=/b[,readonly] or
 * type=tmpfs,target=/t[,tmpfs-size=N][,tmpfs-mode=M]. The type is volume unless given, as Docker's.
 */
/** The keys `--mount` takes, as Docker's; any other is refused rather than ignored. */
const MOUNT_KEYS = [
  'type', 'source', 'src', 'target', 'destination', 'dst', 'readonly', 'ro',
  'volume-driver', 'volume-nocopy', 'volume-opt', 'volume-label', 'tmpfs-size', 'tmpfs-mode',
];

function mountFlag(text: string): runtime.Mount {
  const fields = text.split(',').map((field) => splitOnce(field, '='));
  const unknown = fields.find(([key]) => !MOUNT_KEYS.includes(key));
  if (unknown !== undefined) throw invalidArgument(`--mount ${text}: unexpected key "${unknown[0]}" (use ${MOUNT_KEYS.join(', ')})`);
  const value = (...keys: string[]) => fields.findLast(([key]) => keys.includes(key))?.[1];
  const all = (key: string) => fields.filter(([k]) => k === key).map(([, v]) => v);
  const flag = (...keys: string[]) => {
    const given = value(...keys);
    if (given === undefined || given === 'false' || given === '0') return false;
    if (given === '' || given === 'true' || given === '1') return true;
    throw invalidArgument(`--mount ${text}: ${keys[0]} is true or false, not "${given}"`);
  };
  const type = value('type') ?? 'volume';
  const source = value('source', 'src') ?? '';
  const target = value('target', 'destination', 'dst') ?? '';
  const readOnly = flag('readonly', 'ro');
  if (type === 'bind') return newMount({ type, source, target, readOnly });
  if (type === 'volume') {
    if ((value('volume-driver') ?? 'local') !== 'local') throw invalidArgument(`--mount ${text}: the only volume driver is local`);
    return newMount({ type, source, target, readOnly, noCopy: flag('volume-nocopy'), volumeOptions: keyValueMap(all('volume-opt')), volumeLabels: keyValueMap(all('volume-label')) });
  }
  if (type === 'tmpfs') {
    const size = value('tmpfs-size');
    const mode = value('tmpfs-mode');
    return newMount({ type, source: '', target, readOnly, options: [size && `size=${size}`, mode && `mode=${mode}`].filter(Boolean).join(',') });
  }
  throw invalidArgument(`--mount ${text}: type ${type} is not supported (bind, volume and tmpfs are)`);
}

/** --tmpfs /path[:options]. */
function tmpfsMount(text: string): runtime.Mount {
  const [target, options] = splitOnce(text, ':');
  return newMount({ type: 'tmpfs', source: '', target, options });
}

/** A Mount whose fields that its type does not use keep their empty values. */
function newMount(fields: Pick<runtime.Mount, 'type' | 'source' | 'target'> & Partial<runtime.Mount>): runtime.Mount {
  return { readOnly: false, options: '', noCopy: false, volumeOptions: {}, volumeLabels: {}, createSource: false, ...fields };
}

/**
 * `-e NAME` without a value takes NAME's value from the environment of the one who runs the
 * command, as Docker's does, and is left out when NAME is not set there.
 */
export function callerEnv(entries: string[]): string[] {
  return entries.flatMap((entry) => (entry.includes('=') ? [entry] : process.env[entry] === undefined ? [] : [`${entry}=${process.env[entry]}`]));
}

function readEnvFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw invalidArgument(`--env-file ${path}: ${(err as Error).message}`);
  }
  return text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
}

function integer(text: string, flag: string): number {
  if (!/^-?\d+$/.test(text)) throw invalidArgument(`invalid ${flag} "${text}": a whole number`);
  return Number(text);
}

function number(text: string, flag: string): number {
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value)) throw invalidArgument(`invalid ${flag} "${text}": a number`);
  return value;
}
