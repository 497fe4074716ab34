import { readFileSync } from 'node:fs';
import { invalidArgument } from '../../../libs/errors';
import type { runtime } from '../../../libs/proto';
import { keyValueMap, splitOnce } from '../../args';
import { parseBytes, parseDurationMs } from '../../units';
import { parseExpose, parsePublish } from './publish-flags';

/** The flags `run` and `create` share, as Docker's. */
export const CREATE_FLAGS = {
  name: { type: 'string' },
  env: { type: 'string', short: 'e', multiple: true },
  'env-file': { type: 'string', multiple: true },
  workdir: { type: 'string', short: 'w' },
  user: { type: 'string', short: 'u' },
  hostname: { type: 'string', short: 'h' },
  label: { type: 'string', short: 'l', multiple: true },
  memory: { type: 'string', short: 'm' },
  cpus: { type: 'string' },
  'pids-limit': { type: 'string' },
  restart: { type: 'string' },
  'read-only': { type: 'boolean' },
  tmpfs: { type: 'string', multiple: true },
  volume: { type: 'string', short: 'v', multiple: true },
  mount: { type: 'string', multiple: true },
  entrypoint: { type: 'string' },
  'health-cmd': { type: 'string' },
  'health-interval': { type: 'string' },
  'health-timeout': { type: 'string' },
  'health-retries': { type: 'string' },
  'health-start-period': { type: 'string' },
  'no-healthcheck': { type: 'boolean' },
  'stop-signal': { type: 'string' },
  'stop-timeout': { type: 'string' },
  privileged: { type: 'boolean' },
  platform: { type: 'string' },
  runtime: { type: 'string' },
  rm: { type: 'boolean' },
  interactive: { type: 'boolean', short: 'i' },
  tty: { type: 'boolean', short: 't' },
  publish: { type: 'string', short: 'p', multiple: true },
  'publish-all': { type: 'boolean', short: 'P' },
  expose: { type: 'string', multiple: true },
  // Docker takes --net and --net-alias as older spellings; parseArgs has no aliases, so both are flags.
  network: { type: 'string' },
  net: { type: 'string' },
  'network-alias': { type: 'string', multiple: true },
  'net-alias': { type: 'string', multiple: true },
  // Where in a cluster: a node by name, or constraints on nodes' names and labels (as Swarm's).
  node: { type: 'string' },
  constraint: { type: 'string', multiple: true },
} as const;

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
      env: [...(values['env-file'] ?? []).flatMap(readEnvFile), ...(values.env ?? [])],
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
