import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition } from '../../../libs/errors';
import type { NetworkSpec } from '../containers/model';
import { parseSubnet } from './addresses';
import { addPortRule, removePortRules } from './firewall';
import { attachVeth, createNamespace, namespacePath, removeLink, removeNamespace, type VethEndpoint } from './links';
import { DEFAULT_NETWORK, HOST_MODE, NONE_MODE, type Endpoint, type Network, type PublishedPort } from './model';
import type { NetworkManager } from './networks';

/** A container as its network needs it. */
export interface NetworkedContainer {
  id: string;
  hostname: string;
  /** Absent on containers made before networking: they had loopback only. */
  network?: NetworkSpec;
}

/** What a start needs of the network: the namespace to join (none: the host's), and /etc's files. */
export interface Sandbox {
  namespacePath?: string;
  /** Host paths of the files bind-mounted at /etc/hosts, /etc/resolv.conf and /etc/hostname. */
  files: { hosts: string; resolvConf: string; hostname: string };
}

const LOCALHOST = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

/** The container's network namespace, named after it. */
export function namespaceOf(containerId: string): string {
  return `berth-${containerId.slice(0, 12)}`;
}

/** The host side of its veth pair on its n-th network (interface names have 15 characters at most). */
export function hostInterfaceOf(containerId: string, position: number): string {
  return `vb${containerId.slice(0, 10)}${position.toString(36)}`;
}

/** The network a container's mode names, undefined for host and none. */
export async function networkOfMode(manager: NetworkManager, mode: string): Promise<Network | undefined> {
  if (mode === HOST_MODE || mode === NONE_MODE) return undefined;
  return manager.find(mode === '' ? DEFAULT_NETWORK : mode);
}

/** At create: the container's endpoint on the network its mode names (networkOfMode), with its address. */
export async function joinNetwork(manager: NetworkManager, containerId: string, network: Network | undefined, spec: NetworkSpec): Promise<void> {
  if (network === undefined) return;
  if (spec.aliases.length > 0 && network.name === DEFAULT_NETWORK) throw failedPrecondition('network aliases work only on user-defined networks');
  await manager.addEndpoint(network, containerId, spec.aliases, 0);
  await manager.refreshNames();
  await manager.recordEvent(network, 'connect', containerId);
}

/**
 * Before a container's process starts: its namespace (loopback up), a veth pair and address on each
 * of its networks (the first holds the default route), its published ports, and its /etc files.
 */
export async function setUpSandbox(manager: NetworkManager, container: NetworkedContainer, containerDir: string): Promise<Sandbox> {
  const mode = container.network?.mode ?? NONE_MODE;
  const files = { hosts: join(containerDir, 'hosts'), resolvConf: join(containerDir, 'resolv.conf'), hostname: join(containerDir, 'hostname') };
  await writeFile(files.hostname, `${container.hostname}\n`);
  if (mode === HOST_MODE) {
    await writeFile(files.hosts, await readFile('/etc/hosts', 'utf8').catch(() => LOCALHOST));
    await writeFile(files.resolvConf, await hostResolvConf());
    return { files };
  }
  const namespace = namespaceOf(container.id);
  const endpoints = await manager.repository.endpointsOfContainer(container.id);
  const networks = new Map((await manager.list()).map((network) => [network.id, network]));
  await createNamespace(namespace, endpoints.map((endpoint) => vethOf(container.id, endpoint, networks.get(endpoint.networkId)!)));
  const first = endpoints[0];
  await writeFile(files.hosts, first === undefined ? LOCALHOST : `${LOCALHOST}${first.address}\t${container.hostname}\n`);
  await writeFile(files.resolvConf, first === undefined ? await hostResolvConf() : await resolvConfVia(networks.get(first.networkId)!.gateway));
  if (first !== undefined && container.network !== undefined) await publishPorts(manager, container.id, container.network, first.address);
  return { namespacePath: namespacePath(namespace), files };
}

/** After a container's process ended (or before its removal): its ports, rules and namespace go. */
export async function tearDownSandbox(manager: NetworkManager, containerId: string): Promise<void> {
  manager.ports.release(containerId);
  if ((await manager.repository.publishedPorts(containerId)).length > 0) {
    await removePortRules(containerId);
    await manager.repository.setPublishedPorts(containerId, []);
  }
  // The namespace's end of each veth pair goes with it, and with it the host's end.
  await removeNamespace(namespaceOf(containerId));
}

/**
 * For a container still running when the agent starts: its published ports held again (the same
 * host ports) and their rules in place.
 */
export async function restoreSandbox(manager: NetworkManager, containerId: string): Promise<void> {
  const ports = await manager.repository.publishedPorts(containerId);
  const first = (await manager.repository.endpointsOfContainer(containerId))[0];
  if (ports.length === 0 || first === undefined) return;
  await manager.ports.reserve(containerId, ports);
  for (const port of ports) await addPortRule(containerId, { ...port, address: first.address });
}

/** `docker network connect` of a running container: its next interface, at once. */
export async function attachEndpoint(containerId: string, endpoint: Endpoint, network: Network): Promise<void> {
  await attachVeth(vethOf(containerId, endpoint, network));
}

function vethOf(containerId: string, endpoint: Endpoint, network: Network): VethEndpoint {
  return {
    namespace: namespaceOf(containerId),
    hostInterface: hostInterfaceOf(containerId, endpoint.position),
    interface: `eth${endpoint.position}`,
    bridge: network.bridge,
    address: endpoint.address,
    prefix: parseSubnet(network.subnet).prefix,
    mac: endpoint.mac,
    gateway: network.gateway,
    // An internal network is a way to its own containers only: no route leads beyond it.
    defaultRoute: endpoint.position === 0 && !network.internal,
  };
}

export async function detachEndpoint(containerId: string, endpoint: Endpoint): Promise<void> {
  await removeLink(hostInterfaceOf(containerId, endpoint.position));
}

/** `-p` and `-P`: each port held on the host, its DNAT rule to the container, recorded. */
async function publishPorts(manager: NetworkManager, containerId: string, spec: NetworkSpec, address: string): Promise<void> {
  const requested = [...spec.ports];
  if (spec.publishAll) {
    for (const exposed of spec.exposedPorts) {
      const [port, protocol = 'tcp'] = exposed.split('/');
      const containerPort = Number(port);
      if (!requested.some((p) => p.containerPort === containerPort && p.protocol === protocol)) requested.push({ containerPort, protocol: protocol as 'tcp' | 'udp', hostIp: '', hostPort: 0 });
    }
  }
  if (requested.length === 0) return;
  const hostPorts = await manager.ports.reserve(containerId, requested);
  const published: PublishedPort[] = requested.map((port, index) => ({ containerId, protocol: port.protocol, containerPort: port.containerPort, hostIp: port.hostIp, hostPort: hostPorts[index]! }));
  // Recorded before the rules are made, so that a teardown after a crash here knows to look for them.
  await manager.repository.setPublishedPorts(containerId, published);
  try {
    for (const port of published) await addPortRule(containerId, { ...port, address });
  } catch (err) {
    manager.ports.release(containerId);
    await removePortRules(containerId);
    await manager.repository.setPublishedPorts(containerId, []);
    throw err;
  }
}

/** The embedded DNS on the gateway, with the host's search domains and options. */
async function resolvConfVia(gateway: string): Promise<string> {
  const kept = (await hostResolvConf()).split('\n').filter((line) => /^(search|domain|options)\s/.test(line));
  return [`nameserver ${gateway}`, ...kept, ''].join('\n');
}

async function hostResolvConf(): Promise<string> {
  return readFile('/etc/resolv.conf', 'utf8').catch(() => '');
}
