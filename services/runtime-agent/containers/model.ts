/** A container's place in its life; verbs that do not fit it fail naming it. */
export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'removing' | 'dead';

/** States in which the container has processes (or is about to, for restarting). */
export const ACTIVE_STATES: readonly ContainerState[] = ['running', 'paused', 'restarting'];

export interface HealthCheckSpec {
  /** ["CMD", ...] or ["CMD-SHELL", command]. */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export interface MountSpec {
  type: 'bind' | 'tmpfs' | 'volume';
  /** bind: the host path. volume: the volume's name (an anonymous volume's is given at create). */
  source: string;
  target: string;
  readOnly: boolean;
  /** tmpfs: its mount options. */
  options: string;
  /** volume: an empty volume is not filled with the image's content at the target. */
  noCopy?: boolean;
  /** volume: driver options and labels for a volume the container's creation makes. */
  volumeOptions?: Record<string, string>;
  volumeLabels?: Record<string, string>;
  /** volume: its host directory, as the volume service gave it. */
  hostPath?: string;
  /** bind: a missing source directory is made (`-v`), rather than refused (`--mount`). */
  createSource?: boolean;
}

export interface ResourceLimits {
  memoryBytes?: number;
  cpus?: number;
  pidsLimit?: number;
}

export type RestartPolicyName = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface RestartPolicy {
  name: RestartPolicyName;
  maximumRetryCount: number;
}

/** What runs and how: the create request with the image's config filled in, fixed at create. */
export interface RunSpec {
  /** entrypoint + cmd: what the container runs. */
  argv: string[];
  /** As configured, for inspect: null when neither the request nor the image set it. */
  entrypoint: string[] | null;
  cmd: string[] | null;
  env: string[];
  workingDir: string;
  /** As given ("name", "uid:gid"); resolved against the container's /etc/passwd at each start. */
  user: string;
  hostname: string;
  labels: Record<string, string>;
  tty: boolean;
  openStdin: boolean;
  stopSignal: string;
  stopTimeoutSeconds: number;
  healthcheck?: HealthCheckSpec;
  resources: ResourceLimits;
  readOnlyRoot: boolean;
  mounts: MountSpec[];
  restartPolicy: RestartPolicy;
  autoRemove: boolean;
  privileged: boolean;
  /** The OCI runtime binary. */
  runtime: string;
  /** How it is networked; absent on containers made before networking (they had loopback only). */
  network?: NetworkSpec;
}

/** A container's network settings, fixed at create (its addresses are in the endpoints table). */
export interface NetworkSpec {
  /** 'bridge' (the default bridge), 'none', 'host', or a user-defined network's id. */
  mode: string;
  /** Other names on a user-defined network. */
  aliases: string[];
  /** `-p`: as asked (host port 0: one the kernel picks at each start). */
  ports: PortSpec[];
  /** The image's and the request's exposed ports ("80/tcp"); with publishAll each is published. */
  exposedPorts: string[];
  publishAll: boolean;
}

export interface PortSpec {
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** The host address; '' for every one. */
  hostIp: string;
  hostPort: number;
}

export interface HealthLogEntry {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

export interface Health {
  status: 'starting' | 'healthy' | 'unhealthy';
  failingStreak: number;
  log: HealthLogEntry[];
}

/** A container as its row holds it. */
export interface Container {
  id: string;
  name: string;
  node: string;
  /** Why it was placed on its node (for inspect). */
  placement: string;
  imageId: string;
  imageName: string;
  spec: RunSpec;
  /** Chain ids of the image's layers, lowest first. */
  layers: string[];
  state: ContainerState;
  pid: number;
  exitCode: number;
  error: string;
  oomKilled: boolean;
  stoppedByUser: boolean;
  /** A removal under way takes the anonymous volumes too (rm -v, or --rm). */
  removeVolumes: boolean;
  restartCount: number;
  health: Health | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}
