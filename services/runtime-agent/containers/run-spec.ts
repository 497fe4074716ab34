import { existsSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { cpus } from 'node:os';
import { invalidArgument } from '../../../libs/errors';
import type { imagestore, runtime } from '../../../libs/proto';
import type { HealthCheckSpec, MountSpec, NetworkSpec, PortSpec, RestartPolicyName, RunSpec } from './model';
import { parseSignal } from './signals';

/** Docker's floor for a memory limit: below it a container cannot even start its runtime. */
const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
const DEFAULT_STOP_TIMEOUT_SECONDS = 10;
const RESTART_POLICIES: readonly RestartPolicyName[] = ['no', 'always', 'unless-stopped', 'on-failure'];
const HEALTH_DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 };

export interface CreateInput {
  config: runtime.ContainerConfig;
  hostConfig: runtime.HostConfig;
}

/**
 * What a container runs: the request, with the image's config where the request is silent, as
 * Docker merges them. Impossible values fail with INVALID_ARGUMENT before anything is made.
 */
export function runSpecFor(id: string, input: CreateInput, image: imagestore.ImageConfig, defaultRuntime: string): RunSpec {
  const { config, hostConfig } = input;
  const entrypoint = config.entrypoint !== undefined ? config.entrypoint.values : image.entrypoint.length > 0 ? image.entrypoint : null;
  // A new entrypoint drops the image's CMD, as in Docker.
  const cmd = config.cmd !== undefined ? config.cmd.values : config.entrypoint === undefined && image.cmd.length > 0 ? image.cmd : null;
  const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
  if (argv.length === 0) throw invalidArgument('no command given and the image has none: give one');

  const restartPolicy = {
    name: (hostConfig.restartPolicy?.name || 'no') as RestartPolicyName,
    maximumRetryCount: hostConfig.restartPolicy?.maximumRetryCount ?? 0,
  };
  if (!RESTART_POLICIES.includes(restartPolicy.name)) throw invalidArgument(`unknown restart policy "${restartPolicy.name}": use ${RESTART_POLICIES.join(', ')}`);
  if (restartPolicy.maximumRetryCount < 0) throw invalidArgument('the maximum retry count cannot be negative');
  if (restartPolicy.maximumRetryCount > 0 && restartPolicy.name !== 'on-failure') throw invalidArgument('a maximum retry count needs the on-failure policy');
  if (hostConfig.autoRemove && restartPolicy.name !== 'no') throw invalidArgument('auto-remove (--rm) and a restart policy exclude each other');

  const stopSignal = parseSignal(config.stopSignal || image.stopSignal || 'SIGTERM').name;
  const stopTimeoutSeconds = config.stopTimeout ?? DEFAULT_STOP_TIMEOUT_SECONDS;
  if (stopTimeoutSeconds < -1) throw invalidArgument('the stop timeout cannot be below -1 (wait forever)');

  return {
    argv,
    entrypoint,
    cmd,
    env: mergeEnv(image.env, config.env),
    workingDir: checkedPath(config.workingDir || image.workingDir || '/', 'working directory'),
    user: config.user || image.user,
    hostname: config.hostname || id.slice(0, 12),
    labels: { ...image.labels, ...config.labels },
    tty: config.tty,
    openStdin: config.openStdin,
    stopSignal,
    stopTimeoutSeconds,
    healthcheck: healthCheckFor(config.healthcheck, image.healthcheckJson),
    resources: checkedResources(hostConfig.resources),
    readOnlyRoot: hostConfig.readOnlyRoot,
    mounts: withImageVolumes(hostConfig.mounts.map(checkedMount), image.volumes),
    restartPolicy,
    autoRemove: hostConfig.autoRemove,
    privileged: hostConfig.privileged,
    runtime: hostConfig.runtime || defaultRuntime,
    network: networkSpec(hostConfig, [...image.exposedPorts, ...config.exposedPorts]),
  };
}

/** `--network`, `-p`, `-P`, `--expose` and `--network-alias`, checked. */
function networkSpec(hostConfig: runtime.HostConfig, exposed: string[]): NetworkSpec {
  const mode = hostConfig.networkMode === '' || hostConfig.networkMode === 'default' ? 'bridge' : hostConfig.networkMode;
  const ports = hostConfig.portBindings.map(checkedPort);
  if ((mode === 'host' || mode === 'none') && (ports.length > 0 || hostConfig.publishAllPorts)) {
    throw invalidArgument(`published ports are discarded with --network ${mode}: publish ports only on a bridge network`);
  }
  const exposedPorts = [...new Set(exposed.map((port) => (port.includes('/') ? port : `${port}/tcp`)))];
  for (const port of exposedPorts) {
    const [number, protocol] = port.split('/');
    if (!/^\d+$/.test(number!) || Number(number) < 1 || Number(number) > 65535 || !['tcp', 'udp'].includes(protocol!)) throw invalidArgument(`invalid exposed port "${port}": use PORT[/tcp|udp]`);
  }
  return { mode, aliases: hostConfig.networkAliases, ports, exposedPorts, publishAll: hostConfig.publishAllPorts };
}

function checkedPort(binding: runtime.PortBinding): PortSpec {
  const protocol = binding.protocol === '' ? 'tcp' : binding.protocol;
  if (protocol !== 'tcp' && protocol !== 'udp') throw invalidArgument(`invalid protocol "${binding.protocol}" for port ${binding.containerPort}: use tcp or udp`);
  if (binding.containerPort < 1 || binding.containerPort > 65535) throw invalidArgument(`invalid container port ${binding.containerPort}: use 1 to 65535`);
  if (binding.hostPort > 65535) throw invalidArgument(`invalid host port ${binding.hostPort}: use 1 to 65535, or 0 for any`);
  if (binding.hostIp !== '' && !/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(binding.hostIp)) throw invalidArgument(`invalid host address "${binding.hostIp}": use an IPv4 address`);
  return { containerPort: binding.containerPort, protocol, hostIp: binding.hostIp === '0.0.0.0' ? '' : binding.hostIp, hostPort: binding.hostPort };
}

/** The request's variables override the image's of the same name. */
function mergeEnv(image: string[], request: string[]): string[] {
  const merged = new Map<string, string>();
  for (const entry of [...image, ...request]) {
    const name = entry.split('=', 1)[0]!;
    if (name === '') throw invalidArgument(`invalid environment variable "${entry}"`);
    // A bare NAME unsets what the image set: the client resolves `-e NAME` from its own environment,
    // and the agent's environment (its database URL, its tokens) must never reach a container.
    if (entry.includes('=')) merged.set(name, entry);
    else merged.delete(name);
  }
  return [...merged.values()];
}

export function checkedResources(resources: runtime.Resources | undefined): RunSpec['resources'] {
  const limits: RunSpec['resources'] = {};
  if (resources === undefined) return limits;
  if (resources.memoryBytes < 0 || resources.cpus < 0) throw invalidArgument('limits cannot be negative');
  if (resources.memoryBytes > 0) {
    if (resources.memoryBytes < MIN_MEMORY_BYTES) throw invalidArgument(`the memory limit must be at least 6 MiB, not ${resources.memoryBytes} bytes`);
    limits.memoryBytes = resources.memoryBytes;
  }
  if (resources.cpus > 0) {
    const available = cpus().length;
    if (resources.cpus > available) throw invalidArgument(`cannot give ${resources.cpus} CPUs: this host has ${available}`);
    if (resources.cpus < 0.01) throw invalidArgument('the CPU limit must be at least 0.01');
    limits.cpus = resources.cpus;
  }
  if (resources.pidsLimit > 0) limits.pidsLimit = resources.pidsLimit;
  else if (resources.pidsLimit < -1) throw invalidArgument('the pids limit must be positive, or -1 or 0 for none');
  return limits;
}

function checkedPath(path: string, what: string): string {
  if (!isAbsolute(path)) throw invalidArgument(`the ${what} must be an absolute path, not "${path}"`);
  return normalize(path);
}

function checkedMount(mount: runtime.Mount): MountSpec {
  const target = checkedPath(mount.target, 'mount target');
  if (target === '/') throw invalidArgument('cannot mount over the root of the container');
  if (mount.type === 'bind') {
    const source = checkedPath(mount.source, 'bind mount source');
    if (!mount.createSource && !existsSync(source)) throw invalidArgument(`the bind mount source ${source} does not exist on this host`);
    return { type: 'bind', source, target, readOnly: mount.readOnly, options: '', createSource: mount.createSource };
  }
  if (mount.type === 'volume') {
    const { source, readOnly, noCopy, volumeOptions, volumeLabels } = mount;
    return { type: 'volume', source, target, readOnly, options: '', noCopy, volumeOptions, volumeLabels };
  }
  if (mount.type === 'tmpfs') {
    if (mount.options !== '' && !/^[a-z0-9_]+(=[a-zA-Z0-9_.:]+)?(,[a-z0-9_]+(=[a-zA-Z0-9_.:]+)?)*$/.test(mount.options)) {
      throw invalidArgument(`invalid tmpfs options "${mount.options}"`);
    }
    return { type: 'tmpfs', source: 'tmpfs', target, readOnly: mount.readOnly, options: mount.options };
  }
  throw invalidArgument(`unknown mount type "${mount.type}": use bind, tmpfs or volume`);
}

/**
 * The mounts, each target once, and a new anonymous volume for each of the image's VOLUME paths that
 * no mount covers, as Docker gives them.
 */
function withImageVolumes(mounts: MountSpec[], imageVolumes: string[]): MountSpec[] {
  const targets = new Set<string>();
  for (const mount of mounts) {
    if (targets.has(mount.target)) throw invalidArgument(`duplicate mount point: ${mount.target}`);
    targets.add(mount.target);
  }
  const anonymous = imageVolumes
    .map((path) => checkedPath(path, "image's volume path"))
    .filter((target) => target !== '/' && !targets.has(target))
    .map((target): MountSpec => ({ type: 'volume', source: '', target, readOnly: false, options: '' }));
  return [...mounts, ...[...new Map(anonymous.map((mount) => [mount.target, mount])).values()]];
}

/** The request's check, else the image's (JSON as Docker stores it, durations in nanoseconds). */
function healthCheckFor(requested: runtime.HealthCheck | undefined, imageJson: string): HealthCheckSpec | undefined {
  let check: HealthCheckSpec | undefined;
  if (imageJson !== '') {
    const image = JSON.parse(imageJson) as { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
    check = {
      test: image.Test ?? [],
      intervalMs: (image.Interval ?? 0) / 1e6 || HEALTH_DEFAULTS.intervalMs,
      timeoutMs: (image.Timeout ?? 0) / 1e6 || HEALTH_DEFAULTS.timeoutMs,
      retries: image.Retries || HEALTH_DEFAULTS.retries,
      startPeriodMs: (image.StartPeriod ?? 0) / 1e6,
    };
  }
  if (requested !== undefined) {
    check = {
      test: requested.test.length > 0 ? requested.test : (check?.test ?? []),
      intervalMs: requested.intervalMs || check?.intervalMs || HEALTH_DEFAULTS.intervalMs,
      timeoutMs: requested.timeoutMs || check?.timeoutMs || HEALTH_DEFAULTS.timeoutMs,
      retries: requested.retries || check?.retries || HEALTH_DEFAULTS.retries,
      startPeriodMs: requested.startPeriodMs || check?.startPeriodMs || 0,
    };
  }
  if (check === undefined || check.test.length === 0 || check.test[0] === 'NONE') return undefined;
  if (check.test[0] !== 'CMD' && check.test[0] !== 'CMD-SHELL') throw invalidArgument(`a health check's test starts with CMD, CMD-SHELL or NONE, not "${check.test[0]}"`);
  if (check.test.length < 2) throw invalidArgument('the health check has no command');
  if (check.intervalMs < 1 || check.timeoutMs < 1) throw invalidArgument('health check interval and timeout must be positive');
  return check;
}
