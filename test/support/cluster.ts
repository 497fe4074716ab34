/**
 * Three Berth hosts on one machine, as a cluster test needs them: each host's volume service and
 * runtime-agent in a network namespace and state root of its own, all talking over veth links on a
 * bridge (the "hub") to one image-store, Postgres and nats-server in the root namespace. Every link,
 * address and rule is one the harness makes, and takes away again after the test.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { checkHealth } from '../../libs/grpc';
import { createCa, issueCertificate, type IssuedCertificate } from '../../libs/pki';
import { overlaps, parseSubnet } from '../../services/runtime-agent/network/addresses';
import { routedSubnets } from '../../services/runtime-agent/network/links';
import { berthEnvironment } from './berth';
import { adminQuery, eventually, testEventSettings } from './index';
import { freePort, TestNats } from './nats';
import { serviceEntry } from './paths';
import { startTestPostgres } from './postgres';
import { importBusybox } from './runtime';
import { removeContainersOf, removeNetworking, stopChild, testNetworkSettings } from './service';

const run = promisify(execFile);

/** The hosts' names, and the zone label each carries. */
const HOSTS = [
  { name: 'host-a', zone: 'a' },
  { name: 'host-b', zone: 'b' },
  { name: 'host-c', zone: 'c' },
] as const;

/** Every host has a namespace to itself, so its agent's ports can be the same as on a real cluster. */
const AGENT_PORT = 7443;
const AGENT_METRICS_PORT = 9464;

/** The image busybox is imported as. */
export const CLUSTER_IMAGE = 'busybox:test';

export interface ClusterPki {
  dir: string;
  /** The cluster CA's certificate. */
  ca: string;
  /** The certificate every service uses, valid for the hub's and the hosts' addresses. */
  node: IssuedCertificate;
  /** A client certificate of the cluster CA, for tests. */
  client: IssuedCertificate;
  /** A client certificate of another CA: mutual TLS must refuse it. */
  stranger: IssuedCertificate;
}

/** One service process of the cluster. */
export interface ClusterProcess {
  /** Its unix socket (reachable from the root namespace: the filesystem is shared). */
  endpoint: string;
  /** Everything it printed so far. */
  output(): string;
  /** SIGKILL, and its exit code. */
  kill(): Promise<number | null>;
}

export interface TestHub {
  /** The hub bridge's address, where the image-store, Postgres and NATS listen. */
  address: string;
  /** The subnet of the hub and the hosts (a /24). */
  subnet: string;
  imageStore: ClusterProcess;
  /** HOST:PORT of the image-store's TCP (mutual TLS) listener. */
  imageStoreAddress: string;
  /** The image-store's environment; points `berth` at it by unix socket, and at host-a's agent by TCP. */
  env: NodeJS.ProcessEnv;
  metricsUrl: string;
  stateDir: string;
  runDir: string;
  /** A superuser URL of the cluster's Postgres (its maintenance database). */
  postgresAdminUrl: string;
  /** The cluster's database, which every service shares. */
  postgresUrl: string;
  natsUrl: string;
}

export interface TestHost {
  name: string;
  /** Its address on the hub's subnet. */
  address: string;
  /** Its network namespace, under /run/netns. */
  namespace: string;
  stateDir: string;
  runDir: string;
  /**
   * Its services' environment, which also points `berth` (run from the root namespace) at its agent
   * and volume service by unix socket and at the hub's image-store by TCP with mutual TLS.
   */
  env: NodeJS.ProcessEnv;
  /** HOST:PORT of its agent's TCP (mutual TLS) listener. */
  agentAddress: string;
  /** Its agent's Prometheus endpoint. */
  metricsUrl: string;
  /** Its agent's unix socket. */
  agentEndpoint: string;
  /** What its current agent, or its volume service, printed so far. */
  output(service?: 'runtime-agent' | 'volume'): string;
  /** SIGKILL its agent only: its containers live on, since conmon is detached. */
  kill(): Promise<void>;
  /** Starts its agent again, with the same environment in the same namespace. */
  startAgent(): Promise<void>;
}

export interface TestCluster {
  hub: TestHub;
  /** host-a, host-b and host-c. */
  hosts: TestHost[];
  pki: ClusterPki;
}

/**
 * Starts a cluster of three hosts for one test, with busybox imported as CLUSTER_IMAGE, and takes
 * it all down after the test, even a failed one: processes, containers, namespaces, links, rules,
 * Postgres, NATS and directories.
 */
export async function startCluster(t: TestContext): Promise<TestCluster> {
  const teardown = new Teardown();
  t.after(() => teardown.run());
  const id = randomBytes(4).toString('hex');
  const { subnet, hubAddress, hostAddress } = await pickSubnet();
  // Directories first, so that they go last, once nothing runs in them or is mounted there.
  const hubDirs = { stateDir: tempDir(teardown, 'berth-hub-'), runDir: tempDir(teardown, 'berth-run-') };
  const plans = HOSTS.map(({ name, zone }, index) => ({
    name,
    zone,
    address: hostAddress(index),
    namespace: `berth-test-${id}-${index}`,
    stateDir: tempDir(teardown, `berth-${name}-`),
    runDir: tempDir(teardown, 'berth-run-'),
  }));
  const pki = makeClusterPki(tempDir(teardown, 'berth-pki-'), [hubAddress, ...plans.map((plan) => plan.address)]);

  const bridge = `bc${id}`;
  await createHub(teardown, bridge, hubAddress);
  for (const [index, plan] of plans.entries()) await createHostNamespace(teardown, plan.namespace, bridge, `${bridge}-${index}`, plan.address);

  const postgres = await startTestPostgres({ listen: hubAddress, trustSubnet: subnet });
  teardown.add(() => postgres.stop());
  const postgresAdminUrl = postgres.adminUrl;
  await adminQuery(postgresAdminUrl, 'CREATE DATABASE berth');
  const postgresUrl = postgresAdminUrl.replace(/\/postgres$/, '/berth');
  const nats = await TestNats.start(hubAddress);
  teardown.add(() => nats.destroy());

  const events = testEventSettings();
  const common = {
    BERTH_POSTGRES_URL: postgresUrl,
    BERTH_NATS_URL: nats.url,
    BERTH_EVENTS_STREAM: events.stream,
    BERTH_EVENTS_SUBJECT_PREFIX: events.subjectPrefix,
    BERTH_TLS_CA: pki.ca,
    BERTH_TLS_CERT: pki.node.cert,
    BERTH_TLS_KEY: pki.node.key,
    BERTH_LOG_FORMAT: 'json',
  };
  const takenSubnets = [subnet];
  const hostEnvs = plans.map((plan) =>
    berthEnvironment({
      ...common,
      BERTH_NODE: plan.name,
      BERTH_NODE_LABELS: `zone=${plan.zone}`,
      BERTH_STATE_DIR: plan.stateDir,
      BERTH_RUN_DIR: plan.runDir,
      BERTH_REGISTRIES_AUTH_FILE: join(plan.stateDir, 'auth', 'config.json'),
      BERTH_RUNTIME_AGENT_LISTEN: `${plan.address}:${AGENT_PORT}`,
      BERTH_RUNTIME_AGENT_ADVERTISE: `${plan.address}:${AGENT_PORT}`,
      BERTH_RUNTIME_AGENT_METRICS_LISTEN: `${plan.address}:${AGENT_METRICS_PORT}`,
      ...hostNetworkSettings(takenSubnets),
    }),
  );
  // After the processes are killed and before Postgres stops: what containers left is found through
  // its database. Their namespaces (/run/netns/berth-<id>) are the root namespace's to remove; what
  // the agents made inside the hosts' namespaces goes with those.
  teardown.add(async () => {
    for (const [index, plan] of plans.entries()) {
      removeContainersOf(plan.stateDir);
      await removeNetworking(plan.stateDir, hostEnvs[index]!);
    }
  });
  const processes = new Processes();
  teardown.add(() => processes.killAll());

  const imageStoreAddress = `${hubAddress}:${await freePort(hubAddress)}`;
  const hubMetrics = `${hubAddress}:${await freePort(hubAddress)}`;
  const hubEnv = berthEnvironment({
    ...common,
    BERTH_NODE: 'hub',
    BERTH_STATE_DIR: hubDirs.stateDir,
    BERTH_RUN_DIR: hubDirs.runDir,
    BERTH_REGISTRIES_AUTH_FILE: join(hubDirs.stateDir, 'auth', 'config.json'),
    BERTH_IMAGE_STORE_LISTEN: imageStoreAddress,
    BERTH_IMAGE_STORE_METRICS_LISTEN: hubMetrics,
    // The image-store asks an agent whether containers use an image (any agent answers for all).
    BERTH_RUNTIME_AGENT_ENDPOINT: `${plans[0]!.address}:${AGENT_PORT}`,
  });
  const hub: TestHub = {
    address: hubAddress,
    subnet,
    imageStore: await processes.start('image-store', hubEnv, hubDirs.runDir),
    imageStoreAddress,
    env: hubEnv,
    metricsUrl: `http://${hubMetrics}/metrics`,
    ...hubDirs,
    postgresAdminUrl,
    postgresUrl,
    natsUrl: nats.url,
  };

  // The hosts start side by side, as machines do (their agents' migrations wait for each other).
  const hosts = await allOrFirstFailure(
    plans.map(async (plan, index): Promise<TestHost> => {
      const env = { ...hostEnvs[index]!, BERTH_IMAGE_STORE_ENDPOINT: imageStoreAddress };
      const volume = await processes.start('volume', env, plan.runDir, { namespace: plan.namespace });
      const startAgent = () => processes.start('runtime-agent', env, plan.runDir, { namespace: plan.namespace });
      let agent = await startAgent();
      return {
        name: plan.name,
        address: plan.address,
        namespace: plan.namespace,
        stateDir: plan.stateDir,
        runDir: plan.runDir,
        env,
        agentAddress: `${plan.address}:${AGENT_PORT}`,
        metricsUrl: `http://${plan.address}:${AGENT_METRICS_PORT}/metrics`,
        agentEndpoint: agent.endpoint,
        output: (service = 'runtime-agent') => (service === 'volume' ? volume : agent).output(),
        kill: async () => {
          await agent.kill();
        },
        startAgent: async () => {
          agent = await startAgent();
        },
      };
    }),
  );

  await importBusybox(t, hosts[0]!.env, CLUSTER_IMAGE);
  return { hub, hosts, pki };
}

/**
 * Steps that undo what the harness made, run last first. Every step runs even when one before it
 * fails, and the failures are reported together at the end.
 */
class Teardown {
  private readonly steps: Array<() => unknown> = [];

  add(step: () => unknown): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    const failures: string[] = [];
    for (const step of this.steps.reverse()) {
      try {
        await step();
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
    }
    if (failures.length > 0) throw new Error(`test cluster teardown:\n${failures.join('\n')}`);
  }
}

/** The cluster's service processes, each killed after the test (restarted agents too). */
class Processes {
  private readonly children: ChildProcess[] = [];

  /**
   * Starts a service as `node <entry>`, inside a host's network namespace if given, and waits until
   * it serves on its unix socket in runDir. nsenter joins the network namespace only, not
   * `ip netns exec`'s private mount namespace: that would hide the agent's overlay mounts and its
   * containers' namespaces from the agent restarted after it.
   */
  async start(service: string, env: NodeJS.ProcessEnv, runDir: string, where: { namespace?: string } = {}): Promise<ClusterProcess> {
    const node = [process.execPath, serviceEntry(service)];
    const [command, ...args] = where.namespace === undefined ? node : ['nsenter', `--net=/run/netns/${where.namespace}`, '--', ...node];
    // nsenter execs the service (it does not fork without a PID namespace): its pid is the service's.
    const child = spawn(command!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    let output = '';
    let failure: Error | undefined;
    child.once('error', (err) => (failure = err)); // nsenter missing
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const what = `${service}${where.namespace === undefined ? '' : ` in ${where.namespace}`}`;
    const endpoint = `unix://${runDir}/${service}.sock`;
    await eventually(
      async () => {
        if (failure !== undefined) throw new Error(`${what} did not start: ${failure.message}`);
        if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${output}`);
        return (await checkHealth(endpoint, { deadlineMs: 500 }).catch(() => undefined)) === 'SERVING' ? true : undefined;
      },
      30_000,
      `${what} to serve:\n${output}`,
    );
    return { endpoint, output: () => output, kill: () => stopChild(child, 'SIGKILL') };
  }

  async killAll(): Promise<void> {
    await Promise.all(this.children.map((child) => stopChild(child, 'SIGKILL')));
  }
}

/**
 * Every promise's value, or the first failure once all have settled: a host still starting must not
 * spawn its agent after the teardown has killed every process.
 */
async function allOrFirstFailure<T>(promises: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
}

/**
 * A /24 in 10.200.0.0-10.250.255.0 that no route of this machine overlaps (another suite's cluster or
 * networks, a real LAN), picked at random so that suites running side by side rarely meet.
 */
async function pickSubnet(): Promise<{ subnet: string; hubAddress: string; hostAddress: (index: number) => string }> {
  const routes = (await routedSubnets()).flatMap((route) => {
    try {
      return [parseSubnet(route)];
    } catch {
      return []; // /0, /32 and the like: not a subnet that could be ours
    }
  });
  for (let attempt = 0; attempt < 100; attempt++) {
    const prefix = `10.${200 + randomInt(51)}.${randomInt(256)}`;
    const subnet = `${prefix}.0/24`;
    if (routes.some((route) => overlaps(route, parseSubnet(subnet)))) continue;
    return { subnet, hubAddress: `${prefix}.1`, hostAddress: (index) => `${prefix}.${10 + index}` };
  }
  throw new Error('no free /24 in 10.200.0.0/16-10.250.0.0/16 for a test cluster');
}

/**
 * The hub: a bridge with its address, up. With br_netfilter loaded, traffic bridged between two
 * hosts passes the root namespace's FORWARD chain, whose policy may drop it: one rule of our own
 * lets it through.
 */
async function createHub(teardown: Teardown, bridge: string, address: string): Promise<void> {
  await command('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
  teardown.add(() => command('ip', ['link', 'delete', bridge]));
  await command('ip', ['addr', 'add', `${address}/24`, 'dev', bridge]);
  await command('ip', ['link', 'set', bridge, 'up']);
  const rule = ['FORWARD', '-i', bridge, '-o', bridge, '-m', 'comment', '--comment', `berth-test:${bridge}`, '-j', 'ACCEPT'];
  await command('iptables', ['-w', '-I', ...rule]);
  teardown.add(() => command('iptables', ['-w', '-D', ...rule]));
}

/**
 * A host's network namespace: loopback up, and a veth pair from the hub bridge whose other end
 * (eth0) is the host's address, with the default route through the hub. Deleting the namespace
 * takes what the host's agent made in it (bridges, container veths, iptables rules) along.
 */
async function createHostNamespace(teardown: Teardown, namespace: string, bridge: string, hubEnd: string, address: string): Promise<void> {
  await command('ip', ['netns', 'add', namespace]);
  teardown.add(() => command('ip', ['netns', 'delete', namespace]));
  await command('ip', ['link', 'add', hubEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace]);
  // Gone with the namespace too, but only once the kernel gets round to freeing it.
  teardown.add(() => command('ip', ['link', 'delete', hubEnd]).catch(() => undefined));
  await command('ip', ['link', 'set', hubEnd, 'master', bridge, 'up']);
  const inside = (args: string[]) => command('ip', ['-n', namespace, ...args]);
  await inside(['link', 'set', 'lo', 'up']);
  await inside(['addr', 'add', `${address}/24`, 'dev', 'eth0']);
  await inside(['link', 'set', 'eth0', 'up']);
  await inside(['route', 'add', 'default', 'via', address.replace(/\.\d+$/, '.1')]);
}

/**
 * A host's own container network block (testNetworkSettings), clear of the hub's subnet and of the
 * other hosts' blocks: each host's agent routes its own, and the hosts reach each other through the
 * hub.
 */
function hostNetworkSettings(taken: string[]): Record<string, string> {
  for (;;) {
    const settings = testNetworkSettings();
    const pool = parseSubnet(settings.BERTH_NETWORK_POOL!);
    if (taken.some((subnet) => overlaps(parseSubnet(subnet), pool))) continue;
    taken.push(settings.BERTH_NETWORK_POOL!);
    return settings;
  }
}

/** The cluster's CA, one node certificate for every address, a client's, and a stranger's. */
function makeClusterPki(dir: string, addresses: string[]): ClusterPki {
  createCa(dir, { days: 2 });
  createCa(dir, { name: 'other-ca', days: 2 });
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    node: issueCertificate(dir, 'node', { kind: 'node', addresses, days: 2 }),
    client: issueCertificate(dir, 'client', { kind: 'client', days: 2 }),
    stranger: issueCertificate(dir, 'stranger', { kind: 'client', days: 2, ca: 'other-ca' }),
  };
}

function tempDir(teardown: Teardown, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  teardown.add(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs a program to its end; its failure carries what it printed on stderr. */
async function command(program: string, args: string[]): Promise<void> {
  try {
    await run(program, args);
  } catch (err) {
    const stderr = ((err as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`${program} ${args.join(' ')}: ${stderr || (err as Error).message}`);
  }
}
