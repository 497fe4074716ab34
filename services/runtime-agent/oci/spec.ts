import { readFileSync } from 'node:fs';
import { DEFAULT_CAPABILITIES, DEFAULT_MOUNTS, DEFAULT_PATH, DEVICE_RULES, MASKED_PATHS, READONLY_PATHS } from './defaults';
import { seccompFor } from './seccomp';

/** What a container runs and with which limits: the part of create that becomes config.json. */
export interface ContainerSpec {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids?: number[];
  hostname: string;
  terminal?: boolean;
  readonlyRoot?: boolean;
  /** Bytes; undefined for no limit. */
  memoryBytes?: number;
  /** CPUs, fractional (1.5); undefined for no limit. */
  cpus?: number;
  pidsLimit?: number;
  /** Docker's --privileged: every capability, no seccomp, no masked paths. */
  privileged?: boolean;
  /** The cgroup, as runc takes it (cgroupfs: "/berth/<id>"). */
  cgroupsPath: string;
  /** The root filesystem, relative to the bundle or absolute. */
  rootfs: string;
  /** Maximum open files; the host's own limit when unset (runc refuses more than the host allows). */
  nofile: number;
  /** Mounts beyond Docker's defaults (binds, tmpfs); one at a default's destination replaces it. */
  mounts?: OciMount[];
  /** The network namespace to join (a path under /run/netns), 'host' for the host's own, or unset for a new one of runc's. */
  network?: string;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

const CPU_PERIOD_US = 100_000;

/** The OCI runtime config (config.json) of a container, with Docker's defaults. */
export function runtimeConfig(spec: ContainerSpec): Record<string, unknown> {
  const capabilities = spec.privileged ? allCapabilities() : DEFAULT_CAPABILITIES;
  const env = spec.env.some((e) => e.startsWith('PATH=')) ? spec.env : [`PATH=${DEFAULT_PATH}`, ...spec.env];
  const resources: Record<string, unknown> = { devices: spec.privileged ? [{ allow: true, access: 'rwm' }] : DEVICE_RULES };
  if (spec.memoryBytes !== undefined) resources.memory = { limit: spec.memoryBytes, swap: spec.memoryBytes };
  if (spec.cpus !== undefined) resources.cpu = { quota: Math.round(spec.cpus * CPU_PERIOD_US), period: CPU_PERIOD_US };
  if (spec.pidsLimit !== undefined) resources.pids = { limit: spec.pidsLimit };
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: spec.terminal ?? false,
      user: { uid: spec.uid, gid: spec.gid, ...(spec.additionalGids?.length ? { additionalGids: spec.additionalGids } : {}) },
      args: spec.args,
      env,
      cwd: spec.cwd,
      capabilities: { bounding: capabilities, effective: capabilities, permitted: capabilities },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: spec.nofile, soft: spec.nofile }],
      noNewPrivileges: false,
    },
    root: { path: spec.rootfs, readonly: spec.readonlyRoot ?? false },
    hostname: spec.hostname,
    mounts: [
      ...DEFAULT_MOUNTS.filter((m) => !spec.mounts?.some((own) => own.destination === m.destination)).map((m) =>
        spec.privileged && m.type === 'sysfs' ? { ...m, options: m.options.filter((o) => o !== 'ro') } : m,
      ),
      ...(spec.mounts ?? []),
    ],
    linux: {
      namespaces: [
        ...['pid', 'ipc', 'uts', 'mount'].map((type) => ({ type })),
        ...(spec.network === 'host' ? [] : [{ type: 'network', ...(spec.network === undefined ? {} : { path: spec.network }) }]),
      ],
      maskedPaths: spec.privileged ? [] : MASKED_PATHS,
      readonlyPaths: spec.privileged ? [] : READONLY_PATHS,
      resources,
      cgroupsPath: spec.cgroupsPath,
      ...(spec.privileged ? {} : { seccomp: seccompFor(capabilities) }),
    },
  };
}

/**
 * Every capability this kernel knows (/proc/sys/kernel/cap_last_cap) that the agent itself may pass
 * on (its bounding set): runc cannot give a container one the agent lacks, and fails the start.
 */
function allCapabilities(): string[] {
  const names = [
    'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
    'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
    'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
    'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
    'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
  ];
  let last = names.length - 1;
  try {
    last = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  } catch {
    // keep every name known here
  }
  const bounding = boundingSet();
  return names
    .slice(0, last + 1)
    .filter((_name, bit) => bounding === undefined || (bounding >> BigInt(bit)) & 1n)
    .map((name) => `CAP_${name}`);
}

/** The agent's capability bounding set, from /proc/self/status. */
function boundingSet(): bigint | undefined {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapBnd:'));
    return line === undefined ? undefined : BigInt(`0x${line.slice('CapBnd:'.length).trim()}`);
  } catch {
    return undefined;
  }
}
