import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { failedPrecondition } from '../../../libs/errors';

const run = promisify(execFile);

/**
 * iproute2, for the links of container networks: bridges, veth pairs and named network
 * namespaces. A namespace is named (under /run/netns) rather than made by runc, so that it outlives
 * the agent with the container and a restarted agent finds it.
 */
async function ip(args: string[], namespace?: string): Promise<string> {
  try {
    const { stdout } = await run('ip', namespace === undefined ? args : ['-n', namespace, ...args]);
    return stdout;
  } catch (err) {
    const text = ((err as { stderr?: string }).stderr ?? '').trim() || (err as Error).message;
    throw failedPrecondition(`ip ${args.join(' ')}${namespace === undefined ? '' : ` (in ${namespace})`}: ${text}`);
  }
}

/** Several commands in one `ip -batch`: a container's start runs a handful, and each process costs more than its work. */
async function ipBatch(commands: string[][], namespace?: string): Promise<void> {
  const args = [...(namespace === undefined ? [] : ['-n', namespace]), '-batch', '-'];
  await new Promise<void>((resolve, reject) => {
    const child = execFile('ip', args, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(failedPrecondition(`ip -batch${namespace === undefined ? '' : ` (in ${namespace})`}: ${stderr.trim() || err.message}`));
    });
    child.stdin!.end(commands.map((command) => command.join(' ')).join('\n') + '\n');
  });
}

function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** A bridge with the gateway address, up; one that exists keeps what it has and gets what it lacks. */
export async function ensureBridge(name: string, gateway: string, prefix: number): Promise<void> {
  if (!linkExists(name)) await ip(['link', 'add', 'name', name, 'type', 'bridge']);
  const addresses = await ip(['-o', '-4', 'addr', 'show', 'dev', name]);
  if (!addresses.includes(` ${gateway}/${prefix} `)) await ip(['addr', 'add', `${gateway}/${prefix}`, 'dev', name]);
  await ip(['link', 'set', name, 'up']);
}

export async function removeLink(name: string): Promise<void> {
  if (linkExists(name)) await ip(['link', 'delete', name]);
}

/** The path runc joins. */
export function namespacePath(name: string): string {
  return `/run/netns/${name}`;
}

/** A network namespace with its loopback up; one that exists already is kept. */
export async function ensureNamespace(name: string): Promise<void> {
  try {
    await ip(['netns', 'add', name]);
  } catch (err) {
    if (!/File exists/.test((err as Error).message)) throw err;
  }
  await ip(['link', 'set', 'lo', 'up'], name);
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

/** A veth pair from the bridge into the namespace, addressed, up, with the default route if asked. */
export async function attachVeth(endpoint: VethEndpoint): Promise<void> {
  const { namespace, hostInterface, bridge, interface: inside } = endpoint;
  // Left by an agent that died halfway through an earlier start.
  await removeLink(hostInterface);
  await ipBatch([
    ['link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', inside, 'netns', namespace],
    ['link', 'set', hostInterface, 'master', bridge, 'up'],
  ]);
  await ipBatch(
    [
      ['link', 'set', inside, 'address', endpoint.mac],
      ['addr', 'add', `${endpoint.address}/${endpoint.prefix}`, 'dev', inside],
      ['link', 'set', inside, 'up'],
      ...(endpoint.defaultRoute ? [['route', 'replace', 'default', 'via', endpoint.gateway, 'dev', inside]] : []),
    ],
    namespace,
  );
}

/** The subnets of the host's routes ("10.0.0.0/8"), to keep new networks clear of them. */
export async function routedSubnets(): Promise<string[]> {
  const routes = JSON.parse(await ip(['-j', '-4', 'route', 'show', 'table', 'all'])) as { dst?: string }[];
  return routes.map((route) => route.dst ?? '').filter((dst) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(dst));
}
