import type { runtime } from '../proto';

type Port = Pick<runtime.PortBinding, 'containerPort' | 'protocol' | 'hostIp' | 'hostPort'>;

/** "80/tcp": a container port as Docker keys it (Config.ExposedPorts, NetworkSettings.Ports). */
export function portKey(port: Pick<runtime.PortBinding, 'containerPort' | 'protocol'>): string {
  return `${port.containerPort}/${port.protocol || 'tcp'}`;
}

/** "0.0.0.0:49153": where a published port is reached; a binding to every address shows as 0.0.0.0, as Docker's. */
export function hostAddress(port: Pick<runtime.PortBinding, 'hostIp' | 'hostPort'>): string {
  return `${port.hostIp || '0.0.0.0'}:${port.hostPort}`;
}

/**
 * `docker port`'s lines: "80/tcp -> 0.0.0.0:49153" for each port published now (host port 0: the
 * container is not running), or, given a key ("80/tcp"), only the addresses of that port. Ordered
 * as Docker's natural sort puts them: by port, protocol, then address.
 */
export function publishedPortLines(ports: readonly Port[], key?: string): string[] {
  const published = ports.filter((port) => port.hostPort !== 0).sort(byPortThenAddress);
  if (key !== undefined) return published.filter((port) => portKey(port) === key).map(hostAddress);
  return published.map((port) => `${portKey(port)} -> ${hostAddress(port)}`);
}

function byPortThenAddress(a: Port, b: Port): number {
  return a.containerPort - b.containerPort || portKey(a).localeCompare(portKey(b)) || hostAddress(a).localeCompare(hostAddress(b), 'en', { numeric: true });
}

/** A port as Docker's `ps` formatter sees one: an address only when published. */
interface ListedPort {
  privatePort: number;
  publicPort: number;
  type: string;
  ip: string;
}

/**
 * `docker ps`'s PORTS column ("0.0.0.0:8080->80/tcp, 53/udp"), by the algorithm of Docker's
 * DisplayablePorts so that scripts parsing it see the same text: sorted by container port, runs of
 * ports published on the same number collapsed into ranges ("0.0.0.0:8000-8002->8000-8002/tcp")
 * and listed first, other mappings after. A port whose host port is 0 (not running) shows as "80/tcp".
 */
export function displayablePorts(ports: readonly Port[]): string {
  const listed = ports
    .map((port): ListedPort => ({
      privatePort: port.containerPort,
      publicPort: port.hostPort,
      type: port.protocol || 'tcp',
      ip: port.hostPort === 0 ? '' : port.hostIp || '0.0.0.0',
    }))
    .sort(comparePorts);
  // A Map keeps the order in which keys first appeared, as Docker's groupMapKeys does.
  const groups = new Map<string, { first: number; last: number }>();
  const closed: string[] = [];
  const mappings: string[] = [];
  for (const port of listed) {
    let key = port.type;
    if (port.ip !== '') {
      if (port.publicPort !== port.privatePort) {
        mappings.push(`${port.ip}:${port.publicPort}->${port.privatePort}/${port.type}`);
        continue;
      }
      key = `${port.ip}/${port.type}`;
    }
    const group = groups.get(key);
    if (group !== undefined && port.privatePort === group.last + 1) {
      group.last = port.privatePort;
      continue;
    }
    if (group !== undefined) closed.push(formGroup(key, group));
    groups.set(key, { first: port.privatePort, last: port.privatePort });
  }
  const open = [...groups].map(([key, group]) => formGroup(key, group));
  return [...closed, ...open, ...mappings].join(', ');
}

function comparePorts(a: ListedPort, b: ListedPort): number {
  if (a.privatePort !== b.privatePort) return a.privatePort - b.privatePort;
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  if (a.publicPort !== b.publicPort) return a.publicPort - b.publicPort;
  return a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
}

/** "8000-8002/tcp", or with an address "0.0.0.0:8000-8002->8000-8002/tcp". */
function formGroup(key: string, { first, last }: { first: number; last: number }): string {
  const [ip, type] = key.includes('/') ? key.split('/') : ['', key];
  const ports = first === last ? `${first}` : `${first}-${last}`;
  return ip === '' ? `${ports}/${type}` : `${ip}:${ports}->${ports}/${type}`;
}
