import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { failedPrecondition, messageOf } from '../../../libs/errors';
import { runProgram, type ProgramError } from '../spawner';

/**
 * iproute2, for the links of container networks: bridges, veth pairs and named network
 * namespaces. A namespace is named (under /run/netns) rather than made by runc, so that it outlives
 * the agent with the container and a restarted agent finds it.
 */
async function ip(args: string[], namespace?: string): Promise<string> {
  try {
    const { stdout } = await runProgram('ip', namespace === undefined ? args : ['-n', namespace, ...args]);
    return stdout;
  } catch (err) {
    const text = ((err as { stderr?: string }).stderr ?? '').trim() || (err as Error).message;
    throw failedPrecondition(`ip ${args.join(' ')}${namespace === undefined ? '' : ` (in ${namespace})`}: ${text}`);
  }
}

/** Several commands in one `ip -batch`: a container's start runs a handful, and each process costs more than its work. */
async function ipBatch(commands: string[][], namespace?: string): Promise<void> {
  const args = [...(namespace === undefined ? [] : ['-n', namespace]), '-batch', '-'];
  await runProgram('ip', args, { input: commands.map((command) => command.join(' ')).join('\n') + '\n' }).catch((err: ProgramError) => {
    throw failedPrecondition(`ip -batch${namespace === undefined ? '' : ` (in ${namespace})`}: ${err.stderr?.trim() || err.message}`);
  });
}

/**
 * Read from /proc/self/net/dev, not /sys/class/net: sysfs shows the links of the network namespace
 * it was mounted in, which is not the agent's when the agent was started in another one; /proc's
 * view is the reading process's own. Reading it costs no process.
 */
async function linkExists(name: string): Promise<boolean> {
  const table = await readFile('/proc/self/net/dev', 'utf8');
  return table.split('\n').some((line) => line.trimStart().startsWith(`${name}:`));
}

/** A bridge with the gateway address, up; one that exists keeps what it has and gets what it lacks. */
export async function ensureBridge(name: string, gateway: string, prefix: number): Promise<void> {
  // A bridge without an address of its own takes the lowest of its ports', which changes as containers
  // come and go: their ARP entries for the gateway then point nowhere for a while.
  if (!(await linkExists(name))) await ip(['link', 'add', 'name', name, 'address', bridgeMac(name), 'type', 'bridge']);
  const addresses = await ip(['-o', '-4', 'addr', 'show', 'dev', name]);
  if (!addresses.includes(` ${gateway}/${prefix} `)) await ip(['addr', 'add', `${gateway}/${prefix}`, 'dev', name]);
  await ip(['link', 'set', name, 'up']);
}

/** A locally administered unicast MAC address for a bridge, the same for the same name. */
export function bridgeMac(name: string): string {
  const bytes = createHash('sha256').update(`berth-bridge:${name}`).digest().subarray(0, 6);
  bytes[0] = (bytes[0]! & 0xfe) | 0x02;
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

export async function removeLink(name: string): Promise<void> {
  if (!(await linkExists(name))) return;
  await ip(['link', 'delete', name]).catch((err: unknown) => {
    // The kernel takes a deleted namespace's veth pairs down after the fact: gone meanwhile is gone.
    if (!/Cannot find device/.test(messageOf(err))) throw err;
  });
}

/** The path runc joins. */
export function namespacePath(name: string): string {
  return `/run/netns/${name}`;
}

/**
 * A container's network namespace with its loopback up and a veth pair from each bridge, in two
 * `ip` runs. One left by an agent that died during a start is made again.
 */
export async function createNamespace(name: string, endpoints: VethEndpoint[]): Promise<void> {
  if (existsSync(namespacePath(name))) await ip(['netns', 'delete', name]);
  for (const endpoint of endpoints) await removeLink(endpoint.hostInterface);
  await ipBatch([['netns', 'add', name], ...endpoints.flatMap(hostSide)]);
  await ipBatch([['link', 'set', 'lo', 'up'], ...endpoints.flatMap(namespaceSide)], name);
}

export async function removeNamespace(name: string): Promise<void> {
  if (existsSync(namespacePath(name))) await ip(['netns', 'delete', name]);
}

export interface VethEndpoint {
  namespace: string;
  /** The host side, on the bridge. */
  hostInterface: string;
  /** The container side ("eth0"). */
  interface: string;
  bridge: string;
  address: string;
  prefix: number;
  mac: string;
  gateway: string;
  defaultRoute: boolean;
}

/** A veth pair from the bridge into an existing namespace (a running container's), addressed and up. */
export async function attachVeth(endpoint: VethEndpoint): Promise<void> {
  await removeLink(endpoint.hostInterface);
  await ipBatch(hostSide(endpoint));
  await ipBatch(namespaceSide(endpoint), endpoint.namespace);
}

/** The pair made, its container end moved into the namespace, its host end on the bridge. */
function hostSide(endpoint: VethEndpoint): string[][] {
  return [
    ['link', 'add', endpoint.hostInterface, 'type', 'veth', 'peer', 'name', endpoint.interface, 'netns', endpoint.namespace],
    ['link', 'set', endpoint.hostInterface, 'master', endpoint.bridge, 'up'],
  ];
}

/** The container end addressed and up, with the default route if asked. */
function namespaceSide(endpoint: VethEndpoint): string[][] {
  const inside = endpoint.interface;
  return [
    ['link', 'set', inside, 'address', endpoint.mac],
    ['addr', 'add', `${endpoint.address}/${endpoint.prefix}`, 'dev', inside],
    ['link', 'set', inside, 'up'],
    ...(endpoint.defaultRoute ? [['route', 'replace', 'default', 'via', endpoint.gateway, 'dev', inside]] : []),
  ];
}

/** The subnets of the host's routes ("10.0.0.0/8"), to keep new networks clear of them. */
export async function routedSubnets(): Promise<string[]> {
  const routes = JSON.parse(await ip(['-j', '-4', 'route', 'show', 'table', 'all'])) as { dst?: string }[];
  return routes.map((route) => route.dst ?? '').filter((dst) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(dst));
}
