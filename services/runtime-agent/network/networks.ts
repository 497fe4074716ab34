import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Database, PoolClient } from '../../../libs/db';
import { alreadyExists, failedPrecondition, invalidArgument, messageOf, notFound } from '../../../libs/errors';
import type { EventWriter } from '../../../libs/events';
import { KeyedLock } from '../../../libs/lock';
import type { Logger } from '../../../libs/logging';
import type { NetworkRepository } from '../store/networks';
import { firstFreeAddress, formatAddress, formatSubnet, macFor, overlaps, parseAddress, parseSubnet, subnetSize, contains, type Subnet } from './addresses';
import { nameservers, NetworkDns } from './dns';
import { addNetworkRules, ensureChains, removeNetworkRules } from './firewall';
import { ensureBridge, removeLink, routedSubnets } from './links';
import { DEFAULT_NETWORK, HOST_MODE, NONE_MODE, type Endpoint, type Network, type PublishedPort } from './model';
import { PortReservations } from './ports';

export interface NetworkSettings {
  bridgeName: string;
  bridgeSubnet: string;
  /** Where new networks' subnets (a /24 each) are picked. */
  pool: string;
}

export interface CreateNetworkInput {
  name: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  labels: Record<string, string>;
}

/** The names of the node's networks, for their DNS servers. */
interface NameTable {
  /** Network id → lower-cased name (container name, short id, alias) → addresses. */
  byNetwork: Map<string, Map<string, string[]>>;
  /** "networkId address" → the container there. */
  containerAt: Map<string, string>;
  /** Container id → its networks, in the order it joined them. */
  networksOf: Map<string, string[]>;
}

/** A container's places on networks and the host ports it holds. */
export interface ContainerAttachments {
  endpoints: (Endpoint & { network: Network })[];
  ports: PublishedPort[];
}

/** What a DNS name of a network resolves to: the container's name, its short id, its aliases. */
interface NamedEndpoint extends Endpoint {
  containerName: string;
}

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const BUILTIN = new Set([DEFAULT_NETWORK, HOST_MODE, NONE_MODE]);
/** Attempts at an address before giving up: each failure is another container taking the same one. */
const ADDRESS_ATTEMPTS = 20;

/**
 * The networks of this node: their rows, bridges and firewall rules, the addresses of their
 * endpoints, and the DNS server each one runs on its gateway for the names of its containers.
 */
export class NetworkManager {
  readonly ports = new PortReservations();
  private readonly dns = new Map<string, NetworkDns>();
  /** Address allocations, one at a time per network. */
  private readonly allocations = new KeyedLock();
  /** Rebuilt from the tables after every change. */
  private names: NameTable = { byNetwork: new Map(), containerAt: new Map(), networksOf: new Map() };
  /** Containers being started: their names resolve already, for their process's first lookups. */
  private readonly starting = new Set<string>();

  private defaultNetworkId = '';

  constructor(
    readonly node: string,
    private readonly db: Database,
    readonly repository: NetworkRepository,
    private readonly events: EventWriter,
    private readonly settings: NetworkSettings,
    private readonly logger: Logger,
  ) {}

  /**
   * At agent start: Berth's firewall chains, the default bridge network (made the first time), and
   * every network's bridge, rules and DNS, as they should be (a reboot loses the links and rules).
   */
  async init(): Promise<void> {
    await ensureChains();
    const networks = await this.repository.networks(this.node);
    if (!networks.some((network) => network.name === DEFAULT_NETWORK)) {
      const subnet = parseSubnet(this.settings.bridgeSubnet);
      await this.insert({ name: DEFAULT_NETWORK, subnet: formatSubnet(subnet), gateway: formatAddress(subnet.base + 1), internal: false, labels: {} }, this.settings.bridgeName);
    }
    for (const network of await this.repository.networks(this.node)) {
      if (network.name === DEFAULT_NETWORK) this.defaultNetworkId = network.id;
      await this.activate(network);
    }
    await this.refreshNames();
  }

  /** Stops the DNS servers and lets go of held ports; links and rules stay for the containers. */
  async close(): Promise<void> {
    this.ports.releaseAll();
    await Promise.all([...this.dns.values()].map((server) => server.close()));
    this.dns.clear();
  }

  /** `docker network create`: a bridge network, its subnet given or picked clear of every other. */
  async create(input: CreateNetworkInput): Promise<Network> {
    if (!NAME_PATTERN.test(input.name) || input.name.length > 128) throw invalidArgument(`invalid network name "${input.name}": use [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
    if (BUILTIN.has(input.name)) throw alreadyExists(`network with name ${input.name} already exists (it is predefined)`);
    const existing = await this.repository.networks(this.node);
    if (existing.some((network) => network.name === input.name)) throw alreadyExists(`network with name ${input.name} already exists`);
    const taken = [...existing.map((network) => parseSubnet(network.subnet)), ...(await hostSubnets())];
    const subnet = input.subnet === '' ? this.freeSubnet(taken) : parseSubnet(input.subnet);
    if (input.subnet !== '') {
      const clash = [...existing.filter((network) => overlaps(parseSubnet(network.subnet), subnet)).map((network) => `network ${network.name}`)];
      if (clash.length > 0) throw failedPrecondition(`subnet ${formatSubnet(subnet)} overlaps ${clash.join(', ')}`);
      const routes = (await hostSubnets()).filter((route) => overlaps(route, subnet));
      if (routes.length > 0) throw failedPrecondition(`subnet ${formatSubnet(subnet)} overlaps the host's route to ${routes.map(formatSubnet).join(', ')}`);
    }
    const gateway = input.gateway === '' ? subnet.base + 1 : parseAddress(input.gateway);
    if (!contains(subnet, gateway) || gateway === subnet.base || gateway === subnet.base + subnetSize(subnet) - 1) {
      throw invalidArgument(`gateway ${input.gateway} is not a host address of subnet ${formatSubnet(subnet)}`);
    }
    const network = await this.insert({ ...input, subnet: formatSubnet(subnet), gateway: formatAddress(gateway) });
    await this.activate(network);
    return network;
  }

  /** `docker network rm`: only a user-defined network that no container is on. */
  async remove(text: string): Promise<Network> {
    const network = await this.find(text);
    if (network.name === DEFAULT_NETWORK) throw failedPrecondition(`${network.name} is a pre-defined network and cannot be removed`);
    const endpoints = await this.namedEndpoints(network.id);
    if (endpoints.length > 0) {
      throw failedPrecondition(`network ${network.name} has active endpoints (${endpoints.map((endpoint) => endpoint.containerName).join(', ')}): disconnect or remove them first`);
    }
    await this.dns.get(network.id)?.close();
    this.dns.delete(network.id);
    await removeNetworkRules(network.id);
    await removeLink(network.bridge);
    await this.db.transaction(async (client) => {
      await this.repository.deleteNetwork(client, network.id);
      await this.events.append(client, { type: 'network', action: 'destroy', actorId: network.id, attributes: { name: network.name, type: 'bridge' } });
    });
    this.names.byNetwork.delete(network.id);
    return network;
  }

  async list(): Promise<Network[]> {
    return this.repository.networks(this.node);
  }

  /** A network by name, id or unique id prefix. */
  async find(text: string): Promise<Network> {
    const networks = await this.repository.networks(this.node);
    const exact = networks.find((network) => network.name === text || network.id === text);
    if (exact !== undefined) return exact;
    const prefixed = text.length > 0 ? networks.filter((network) => network.id.startsWith(text)) : [];
    if (prefixed.length === 1) return prefixed[0]!;
    if (prefixed.length > 1) throw invalidArgument(`network id prefix "${text}" matches several networks`);
    throw notFound(`network ${text} not found`);
  }

  /** The network's endpoints with their containers' names. */
  namedEndpoints(networkId: string): Promise<NamedEndpoint[]> {
    return this.repository.namedEndpointsOfNetwork(networkId);
  }

  /**
   * A container's place on a network: the lowest free address (the unique constraint settles a
   * race with another container), its MAC, its aliases.
   */
  async addEndpoint(network: Network, containerId: string, aliases: string[], position: number): Promise<Endpoint> {
    const subnet = parseSubnet(network.subnet);
    const gateway = parseAddress(network.gateway);
    // One at a time per network here (many creates at once would all pick the same lowest address);
    // the retries are for another process that writes the same table.
    return this.allocations.run(network.id, async () => {
      for (let attempt = 0; attempt < ADDRESS_ATTEMPTS; attempt++) {
        const taken = new Set((await this.repository.endpointsOfNetwork(network.id)).map((endpoint) => parseAddress(endpoint.address)));
        const address = firstFreeAddress(subnet, gateway, taken);
        if (address === undefined) throw failedPrecondition(`network ${network.name} has no free address left in ${network.subnet}`);
        const endpoint: Endpoint = { networkId: network.id, containerId, address: formatAddress(address), mac: macFor(address), aliases, position };
        if (await this.repository.insertEndpoint(endpoint)) return endpoint;
      }
      throw failedPrecondition(`could not find a free address on network ${network.name}: too many containers joined it at once`);
    });
  }

  /**
   * A container's names resolve from the moment its process is let run, before its start is
   * recorded: a process that looks itself (or a name it was given) up at once finds it, as in Docker.
   */
  async resolveWhileStarting(containerId: string): Promise<void> {
    this.starting.add(containerId);
    await this.refreshNames();
  }

  /** The start is over: recorded (its names resolve as a running container's) or failed (they go). */
  async startSettled(containerId: string, failed: boolean): Promise<void> {
    this.starting.delete(containerId);
    if (failed) await this.refreshNames();
  }

  /** Rebuilds the names the DNS servers answer, after containers joined, left, started, stopped or were renamed. */
  async refreshNames(): Promise<void> {
    const rows = await this.repository.namedEndpointsOfNode(this.node);
    const table: NameTable = { byNetwork: new Map(), containerAt: new Map(), networksOf: new Map() };
    for (const row of rows) {
      table.containerAt.set(`${row.networkId} ${row.address}`, row.containerId);
      table.networksOf.set(row.containerId, [...(table.networksOf.get(row.containerId) ?? []), row.networkId]);
      // As in Docker, only a running container's names resolve.
      if (!row.running && !this.starting.has(row.containerId)) continue;
      const names = table.byNetwork.get(row.networkId) ?? new Map<string, string[]>();
      table.byNetwork.set(row.networkId, names);
      for (const name of [row.containerName, row.containerId.slice(0, 12), ...row.aliases]) {
        const key = name.toLowerCase();
        names.set(key, [...(names.get(key) ?? []), row.address]);
      }
    }
    this.names = table;
  }

  /**
   * A name as a container asking a network's DNS sees it: looked up on each network it is on, in the
   * order it joined them (Docker's embedded DNS answers for all of them). The default bridge has no names.
   */
  private resolveName(networkId: string, name: string, client: string): string[] | undefined {
    const asking = this.names.containerAt.get(`${networkId} ${client}`);
    const networks = asking === undefined ? [networkId] : (this.names.networksOf.get(asking) ?? [networkId]);
    for (const id of networks) {
      if (id === this.defaultNetworkId) continue;
      const addresses = this.names.byNetwork.get(id)?.get(name);
      if (addresses !== undefined) return addresses;
    }
    return undefined;
  }

  /** The endpoints (with their networks) and published ports of containers, for ps and inspect. */
  async attachmentsOf(containerIds: string[]): Promise<Map<string, ContainerAttachments>> {
    const attachments = new Map<string, ContainerAttachments>(containerIds.map((id) => [id, { endpoints: [], ports: [] }]));
    if (containerIds.length === 0) return attachments;
    const networks = new Map((await this.list()).map((network) => [network.id, network]));
    for (const endpoint of await this.repository.endpointsOfContainers(containerIds)) {
      const network = networks.get(endpoint.networkId);
      if (network !== undefined) attachments.get(endpoint.containerId)!.endpoints.push({ ...endpoint, network });
    }
    for (const port of await this.repository.publishedPortsOf(containerIds)) attachments.get(port.containerId)!.ports.push(port);
    return attachments;
  }

  async recordEvent(network: Network, action: 'connect' | 'disconnect', containerId: string): Promise<void> {
    await this.db.transaction((client) => this.appendEvent(client, network, action, containerId));
  }

  /**
   * The networks a container is on, read before its removal's transaction: a transaction that waited
   * for a second connection of the pool could wait for ever once every connection is such a one.
   */
  async networksOf(containerId: string): Promise<Network[]> {
    const networks = new Map((await this.list()).map((network) => [network.id, network]));
    return (await this.repository.endpointsOfContainer(containerId)).flatMap((endpoint) => networks.get(endpoint.networkId) ?? []);
  }

  /** A removed container leaves its networks: a disconnect event for each, in the removal's transaction. */
  async recordLeaving(client: PoolClient, containerId: string, networks: Network[]): Promise<void> {
    for (const network of networks) await this.appendEvent(client, network, 'disconnect', containerId);
  }

  private async appendEvent(client: PoolClient, network: Network, action: 'connect' | 'disconnect', containerId: string): Promise<void> {
    await this.events.append(client, { type: 'network', action, actorId: network.id, attributes: { name: network.name, type: 'bridge', container: containerId } });
  }

  private async insert(input: CreateNetworkInput, bridge?: string): Promise<Network> {
    const id = randomBytes(32).toString('hex');
    const network: Network = { id, name: input.name, subnet: input.subnet, gateway: input.gateway, bridge: bridge ?? `berth-${id.slice(0, 9)}`, internal: input.internal, labels: input.labels, createdAt: new Date() };
    try {
      await this.db.transaction(async (client) => {
        await this.repository.insertNetwork(client, this.node, network);
        await this.events.append(client, { type: 'network', action: 'create', actorId: network.id, attributes: { name: network.name, type: 'bridge' } });
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw alreadyExists(`network with name ${input.name} already exists`);
      throw err;
    }
    return network;
  }

  /** The network's bridge, rules and DNS server. */
  private async activate(network: Network): Promise<void> {
    const subnet = parseSubnet(network.subnet);
    await ensureBridge(network.bridge, network.gateway, subnet.prefix);
    await addNetworkRules({ id: network.id, bridge: network.bridge, subnet: network.subnet, internal: network.internal });
    if (this.dns.has(network.id)) return;
    try {
      const upstream = network.internal ? [] : nameservers(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
      const lookup = (name: string, client: string) => this.resolveName(network.id, name, client);
      this.dns.set(network.id, await NetworkDns.start({ address: network.gateway, port: 53, lookup, upstream, logger: this.logger }));
    } catch (err) {
      // Containers still run and reach each other by address; only names are missing.
      this.logger.warn(`network ${network.name}: no DNS server on ${network.gateway}:53: ${messageOf(err)}`);
    }
  }

  /** A /24 of the pool that no network, and no route of the host, overlaps. */
  private freeSubnet(taken: Subnet[]): Subnet {
    const pool = parseSubnet(this.settings.pool);
    for (let base = pool.base; base < pool.base + subnetSize(pool); base += 256) {
      const candidate = { base, prefix: 24 };
      if (!taken.some((other) => overlaps(other, candidate))) return candidate;
    }
    throw failedPrecondition(`no free /24 subnet is left in ${this.settings.pool}: give one with --subnet`);
  }
}

/** The host's routes that a network could clash with (not the default route, nor host routes). */
async function hostSubnets(): Promise<Subnet[]> {
  const subnets: Subnet[] = [];
  for (const route of await routedSubnets()) {
    try {
      subnets.push(parseSubnet(route));
    } catch {
      // /0, /31 and /32 routes and the like: no network's subnet is one of them.
    }
  }
  return subnets;
}
