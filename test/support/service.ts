import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Client } from 'pg';
import { checkHealth } from '../../libs/grpc';
import { removeNetworkRules, removePortRules, removeRulesNaming } from '../../services/runtime-agent/network/firewall';
import { removeLink, removeNamespace } from '../../services/runtime-agent/network/links';
import { namespaceOf } from '../../services/runtime-agent/network/sandbox';
import { berthEnvironment } from './berth';
import { eventually, sharedServices, testDatabase, testEventSettings } from './index';
import { serviceEntry } from './paths';
import { processesMentioning } from './processes';

export interface RunningService {
  /** The service's gRPC endpoint: unix://RUNDIR/NAME.sock. */
  endpoint: string;
  stateDir: string;
  runDir: string;
  /** The environment that points `berth` and other services at this one (and its database and stream). */
  env: NodeJS.ProcessEnv;
  /** Everything the service printed so far. */
  output(): string;
  /** SIGTERM, and its exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, and its exit code. */
  kill(): Promise<number | null>;
}

/**
 * The environment of one test's Berth: its state and run directories, its own database and event
 * stream, and the run's NATS.
 */
export async function testEnvironment(t: TestContext, stateDir: string, runDir: string): Promise<NodeJS.ProcessEnv> {
  const events = testEventSettings();
  return berthEnvironment({
    BERTH_STATE_DIR: stateDir,
    BERTH_RUN_DIR: runDir,
    BERTH_POSTGRES_URL: await testDatabase(t),
    BERTH_NATS_URL: (await sharedServices()).natsUrl,
    BERTH_EVENTS_STREAM: events.stream,
    BERTH_EVENTS_SUBJECT_PREFIX: events.subjectPrefix,
    ...testNetworkSettings(),
  });
}

/**
 * A network block of the suite's own, since suites run side by side on one host: a bridge name and
 * a /22 of 10.0.0.0/8 picked at random (its first /24 the default bridge, the rest for the test's
 * own networks), out of 9,600 such blocks.
 */
export function testNetworkSettings(): Record<string, string> {
  const second = 100 + randomInt(150);
  const third = 4 * randomInt(64);
  return {
    BERTH_NETWORK_BRIDGE_NAME: `bt${randomBytes(4).toString('hex')}`,
    BERTH_NETWORK_BRIDGE_SUBNET: `10.${second}.${third}.0/24`,
    BERTH_NETWORK_POOL: `10.${second}.${third}.0/22`,
  };
}

/**
 * Starts a service as `node <entry>` for one test, with its own state and run directories, its own
 * database and event stream, and the shared NATS; stopped and cleaned up after the test.
 */
export async function startService(t: TestContext, name: string, extraEnv: Record<string, string> = {}): Promise<RunningService> {
  const suite = await startServices(t, [name], extraEnv);
  return suite.services[name]!;
}

export interface RunningSuite {
  stateDir: string;
  runDir: string;
  /** The environment every service of the suite shares, and that points `berth` at them. */
  env: NodeJS.ProcessEnv;
  services: Record<string, RunningService>;
  /** Starts a service of the suite (again, after it stopped or was killed). */
  spawn(name: string): Promise<RunningService>;
}

/**
 * Starts services that work together (one state directory, run directory and database, as
 * `berth up` runs them), in the order given. After the test they are killed, and whatever their
 * containers left on the host (processes, mounts, cgroups) is removed before their directories.
 */
export async function startServices(
  t: TestContext,
  names: string[],
  extraEnv: Record<string, string> = {},
  options: { stateDiskBytes?: number } = {},
): Promise<RunningSuite> {
  const stateDir = mkdtempSync(join(tmpdir(), 'berth-'));
  const runDir = mkdtempSync(join(tmpdir(), 'berth-run-'));
  // A state disk of its own that a test can fill: a tmpfs of that size.
  if (options.stateDiskBytes !== undefined) spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${options.stateDiskBytes},mode=0711`, 'tmpfs', stateDir], { stdio: 'inherit' });
  const children: ChildProcess[] = [];
  t.after(async () => {
    await Promise.all(children.map((child) => stopChild(child, 'SIGKILL')));
    removeContainersOf(stateDir);
    await removeNetworking(stateDir, env);
    if (options.stateDiskBytes !== undefined) spawnSync('umount', ['-l', stateDir], { stdio: 'ignore' });
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });
  const env = {
    ...(await testEnvironment(t, stateDir, runDir)),
    BERTH_LOG_FORMAT: 'json',
    BERTH_REGISTRIES_AUTH_FILE: join(stateDir, 'auth', 'config.json'),
    ...extraEnv,
  };
  const services: Record<string, RunningService> = {};
  const spawnService = async (name: string): Promise<RunningService> => {
    const child = spawn(process.execPath, [serviceEntry(name)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const endpoint = `unix://${runDir}/${name}.sock`;
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
        return (await checkHealth(endpoint, { deadlineMs: 500 }).catch(() => undefined)) === 'SERVING' ? true : undefined;
      },
      30_000,
      `${name} to serve:\n${output}`,
    );
    const service: RunningService = {
      endpoint,
      stateDir,
      runDir,
      env,
      output: () => output,
      stop: () => stopChild(child, 'SIGTERM'),
      kill: () => stopChild(child, 'SIGKILL'),
    };
    services[name] = service;
    return service;
  };
  for (const name of names) await spawnService(name);
  return { stateDir, runDir, env, services, spawn: spawnService };
}

/**
 * What a test's networking leaves on the host once its agent is gone: each container's namespace
 * (its veth pairs go with it) and port rules; each network's bridge and rules, the networks read
 * from the suite's database (still there: this runs before it is dropped) and the default bridge
 * named in its environment.
 */
export async function removeNetworking(stateDir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const containerIds = existsSync(join(stateDir, 'containers')) ? readdirSync(join(stateDir, 'containers')) : [];
  for (const id of containerIds) {
    await removePortRules(id).catch(() => undefined);
    await removeNamespace(namespaceOf(id)).catch(() => undefined);
  }
  const networks = await networksIn(env.BERTH_POSTGRES_URL);
  for (const { id, bridge } of networks) {
    await removeNetworkRules(id).catch(() => undefined);
    await removeLink(bridge).catch(() => undefined);
  }
  const bridge = env.BERTH_NETWORK_BRIDGE_NAME;
  if (bridge !== undefined) {
    await removeRulesNaming(bridge).catch(() => undefined);
    await removeLink(bridge).catch(() => undefined);
  }
}

/** The networks recorded in a suite's database, or none when it cannot be read. */
async function networksIn(databaseUrl: string | undefined): Promise<{ id: string; bridge: string }[]> {
  if (databaseUrl === undefined) return [];
  const client = new Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    return (await client.query<{ id: string; bridge: string }>('SELECT id, bridge FROM runtime.networks')).rows;
  } catch {
    return [];
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Signals a child and resolves with its exit code once it is gone. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}

/**
 * What a test's containers leave when their agent is gone: runc's containers (killed and deleted),
 * conmon processes, overlay and other mounts under the state directory, and their cgroups.
 */
export function removeContainersOf(stateDir: string): void {
  const runcRoot = join(stateDir, 'runc');
  const ids = existsSync(runcRoot) ? readdirSync(runcRoot) : [];
  for (const id of ids) spawnSync('runc', ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore' });
  for (const { pid } of processesMentioning(stateDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((target) => target.startsWith(`${stateDir}/`))
    .reverse();
  for (const target of mounts) spawnSync('umount', ['-l', target], { stdio: 'ignore' });
  const containerIds = existsSync(join(stateDir, 'containers')) ? readdirSync(join(stateDir, 'containers')) : [];
  for (const id of new Set([...ids, ...containerIds])) {
    for (const controller of readdirSync('/sys/fs/cgroup')) {
      const dir = join('/sys/fs/cgroup', controller, 'berth', id);
      if (existsSync(dir)) spawnSync('rmdir', [dir], { stdio: 'ignore' });
    }
    const unified = join('/sys/fs/cgroup', 'berth', id);
    if (existsSync(unified)) spawnSync('rmdir', [unified], { stdio: 'ignore' });
  }
}
