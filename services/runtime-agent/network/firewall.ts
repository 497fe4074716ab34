import { writeFile } from 'node:fs/promises';
import { failedPrecondition } from '../../../libs/errors';
import { runProgram } from '../spawner';

/**
 * iptables rules of container networks: forwarding, isolation, outbound NAT and published ports.
 * They live in Berth's own chains, jumped to from the built-in ones, and each rule carries a comment
 * naming what it belongs to ("berth:net:<id>", "berth:ctr:<id>"), so that several agents (or one
 * restarted) add and remove only their own and never touch another program's (Docker's) rules.
 */
const FORWARD = 'BERTH-FORWARD';
const ISOLATION = 'BERTH-ISOLATION';
const POSTROUTING = 'BERTH-POSTROUTING';
const PUBLISHED = 'BERTH-PUBLISHED';

async function iptables(args: string[]): Promise<string> {
  try {
    // -w: wait for the xtables lock that another agent (or Docker) may hold.
    const { stdout } = await runProgram('iptables', ['-w', ...args]);
    return stdout;
  } catch (err) {
    const text = ((err as { stderr?: string }).stderr ?? '').trim() || (err as Error).message;
    throw failedPrecondition(`iptables ${args.join(' ')}: ${text}`);
  }
}

async function has(table: string, chain: string, rule: string[]): Promise<boolean> {
  return runProgram('iptables', ['-w', '-t', table, '-C', chain, ...rule]).then(
    () => true,
    () => false,
  );
}

async function ensureChain(table: string, chain: string): Promise<void> {
  const chains = await iptables(['-t', table, '-S']);
  if (chains.split('\n').includes(`-N ${chain}`)) return;
  // Another agent on this host may make it at the same moment.
  await iptables(['-t', table, '-N', chain]).catch((err: Error) => {
    if (!/already exists/i.test(err.message)) throw err;
  });
}

async function ensureRule(table: string, chain: string, rule: string[], position: 'first' | 'last' = 'last'): Promise<void> {
  if (await has(table, chain, rule)) return;
  await iptables(['-t', table, ...(position === 'first' ? ['-I', chain, '1'] : ['-A', chain]), ...rule]);
}

/** Removes every rule of the chain that has the tag as one of its words. */
async function removeTagged(table: string, chain: string, tag: string): Promise<void> {
  const rules = await iptables(['-t', table, '-S', chain]).catch(() => '');
  for (const line of rules.split('\n')) {
    if (!line.startsWith(`-A ${chain} `)) continue;
    // iptables -S quotes the comment; no argument of these rules holds a space.
    const words = line.split(' ').map((word) => word.replace(/^"(.*)"$/, '$1'));
    if (words.includes(tag)) await iptables(['-t', table, '-D', chain, ...words.slice(2)]);
  }
}

const comment = (tag: string) => ['-m', 'comment', '--comment', tag];
export const networkTag = (networkId: string) => `berth:net:${networkId.slice(0, 12)}`;
export const containerTag = (containerId: string) => `berth:ctr:${containerId.slice(0, 12)}`;

/** Berth's chains, jumped to from the built-in ones; forwarding on. Once per agent start. */
export async function ensureChains(): Promise<void> {
  await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
  for (const [table, chain] of [['filter', FORWARD], ['filter', ISOLATION], ['nat', POSTROUTING], ['nat', PUBLISHED]] as const) await ensureChain(table, chain);
  await ensureRule('filter', 'FORWARD', ['-j', FORWARD], 'first');
  await ensureRule('nat', 'POSTROUTING', ['-j', POSTROUTING], 'first');
  // Published ports for traffic to any address of this host, from outside and from the host itself.
  await ensureRule('nat', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', PUBLISHED], 'first');
  await ensureRule('nat', 'OUTPUT', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', PUBLISHED], 'first');
}

export interface NetworkRules {
  id: string;
  bridge: string;
  subnet: string;
  internal: boolean;
}

/**
 * A network's rules: its containers talk among themselves; never to another Berth network; out
 * to the world (masqueraded) and back unless it is internal; and a published port's connections
 * in. Connections to the host's loopback that a published port redirects leave through the
 * bridge with a loopback source, so the bridge routes them (route_localnet) and they are masqueraded.
 */
export async function addNetworkRules(network: NetworkRules): Promise<void> {
  const { bridge, subnet } = network;
  const tag = comment(networkTag(network.id));
  await ensureRule('filter', ISOLATION, ['-o', bridge, ...tag, '-j', 'DROP']);
  await ensureRule('filter', FORWARD, ['-i', bridge, '-o', bridge, ...tag, '-j', 'ACCEPT']);
  await ensureRule('filter', FORWARD, ['-i', bridge, '!', '-o', bridge, ...tag, '-j', ISOLATION]);
  if (network.internal) {
    await ensureRule('filter', FORWARD, ['-i', bridge, ...tag, '-j', 'DROP']);
    await ensureRule('filter', FORWARD, ['-o', bridge, ...tag, '-j', 'DROP']);
  } else {
    await ensureRule('filter', FORWARD, ['-i', bridge, ...tag, '-j', 'ACCEPT']);
    await ensureRule('filter', FORWARD, ['-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED,DNAT', ...tag, '-j', 'ACCEPT']);
    await ensureRule('nat', POSTROUTING, ['-s', subnet, '!', '-o', bridge, ...tag, '-j', 'MASQUERADE']);
  }
  await ensureRule('nat', POSTROUTING, ['-s', '127.0.0.0/8', '-o', bridge, ...tag, '-j', 'MASQUERADE']);
  await writeFile(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, '1');
}

export async function removeNetworkRules(networkId: string): Promise<void> {
  await removeRulesNaming(networkTag(networkId));
}

/** Every rule of Berth's network chains with this word (a tag, or a bridge's name). */
export async function removeRulesNaming(word: string): Promise<void> {
  await removeTagged('filter', FORWARD, word);
  await removeTagged('filter', ISOLATION, word);
  await removeTagged('nat', POSTROUTING, word);
}

export interface PortRule {
  protocol: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  address: string;
  containerPort: number;
}

/** A published port: connections to the host port (on hostIp, or any address) go to the container. */
export async function addPortRule(containerId: string, rule: PortRule): Promise<void> {
  await ensureRule('nat', PUBLISHED, [
    '-p', rule.protocol,
    ...(rule.hostIp === '' ? [] : ['-d', rule.hostIp]),
    '--dport', String(rule.hostPort),
    ...comment(containerTag(containerId)),
    '-j', 'DNAT', '--to-destination', `${rule.address}:${rule.containerPort}`,
  ]);
}

export async function removePortRules(containerId: string): Promise<void> {
  await removeTagged('nat', PUBLISHED, containerTag(containerId));
}
