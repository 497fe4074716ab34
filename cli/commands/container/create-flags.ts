import { readFileSync } from 'node:fs';
import { invalidArgument } from '../../../libs/errors';
import type { runtime } from '../../../libs/proto';
import { parseBytes, parseDurationMs } from '../../units';

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
} as const;

type Values = { [K in keyof typeof CREATE_FLAGS]?: (typeof CREATE_FLAGS)[K] extends { multiple: true } ? string[] : (typeof CREATE_FLAGS)[K] extends { type: 'boolean' } ? boolean : string };

/** The CreateRequest that `run`/`create` flags and `IMAGE [COMMAND [ARG...]]` describe. */
export function createRequest(values: Values, positionals: string[]): runtime.CreateRequest {
  const [image, ...command] = positionals;
  if (image === undefined) throw invalidArgument('give an image: berth run [OPTIONS] IMAGE [COMMAND] [ARG...]');
  const mounts = [...(values.volume ?? []).map(bindMount), ...(values.mount ?? []).map(mountFlag), ...(values.tmpfs ?? []).map(tmpfsMount)];
  return {
    name: values.name ?? '',
    platform: values.platform ?? '',
    config: {
      image,
      cmd: command.length > 0 ? { values: command } : undefined,
      entrypoint: values.entrypoint === undefined ? undefined : { values: values.entrypoint === '' ? [] : [values.entrypoint] },
      env: [...(values['env-file'] ?? []).flatMap(readEnvFile), ...(values.env ?? [])],
      workingDir: values.workdir ?? '',
      user: values.user ?? '',
      hostname: values.hostname ?? '',
      labels: Object.fromEntries((values.label ?? []).map((label) => splitOnce(label, '='))),
      tty: values.tty ?? false,
      openStdin: values.interactive ?? false,
      stopSignal: values['stop-signal'] ?? '',
      stopTimeout: values['stop-timeout'] === undefined ? undefined : integer(values['stop-timeout'], '--stop-timeout'),
      healthcheck: healthCheck(values),
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

/** -v /host:/container[:ro|rw]; a name instead of a host path is a volume, which comes with the volume service. */
function bindMount(text: string): runtime.Mount {
  const [source = '', target, mode] = text.split(':');
  if (target === undefined) throw invalidArgument(`-v ${text}: anonymous volumes come with the volume service; give HOST_PATH:CONTAINER_PATH`);
  if (!source.startsWith('/')) throw invalidArgument(`-v ${text}: named volumes come with the volume service; give an absolute host path`);
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw invalidArgument(`-v ${text}: the mode is ro or rw`);
  return { type: 'bind', source, target, readOnly: mode === 'ro', options: '' };
}

/** --mount type=bind,source=/a,target=/b[,readonly] or type=tmpfs,target=/t[,tmpfs-size=N]. */
function mountFlag(text: string): runtime.Mount {
  const fields = new Map(text.split(',').map((field) => splitOnce(field, '=')));
  const type = fields.get('type') ?? 'volume';
  const target = fields.get('target') ?? fields.get('destination') ?? fields.get('dst') ?? '';
  const readOnly = fields.has('readonly') || fields.has('ro');
  if (type === 'bind') return { type, source: fields.get('source') ?? fields.get('src') ?? '', target, readOnly, options: '' };
  if (type === 'tmpfs') {
    const size = fields.get('tmpfs-size');
    const mode = fields.get('tmpfs-mode');
    return { type, source: '', target, readOnly, options: [size && `size=${size}`, mode && `mode=${mode}`].filter(Boolean).join(',') };
  }
  throw invalidArgument(`--mount ${text}: type ${type} is not supported yet (bind and tmpfs are)`);
}

/** --tmpfs /path[:options]. */
function tmpfsMount(text: string): runtime.Mount {
  const [target, options = ''] = splitOnce(text, ':');
  return { type: 'tmpfs', source: '', target, readOnly: false, options };
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

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)];
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
