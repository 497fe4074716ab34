import { invalidArgument } from '../../../libs/errors';
import type { runtime } from '../../../libs/proto';
import { splitOnce } from '../../args';

const PUBLISH_FORM = '[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]';

const IPV4_OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);

/** A run of ports, as Docker writes them: "80" or "8000-8010". */
interface PortRange {
  first: number;
  last: number;
}

/**
 * `-p/--publish` as Docker reads it: `8080:80`, `127.0.0.1:8080:80`, `127.0.0.1::80` (a host port
 * the kernel picks, on that address), `80` (a picked port on every address), then `/tcp` or `/udp`.
 * Ranges of the same length (`8000-8001:80-81`) publish each port of them. Host port 0 in the result
 * means "picked at start", host address "" means every address, as PortBinding says.
 */
export function parsePublish(text: string): runtime.PortBinding[] {
  const fail = (why: string) => invalidArgument(`invalid -p/--publish "${text}": ${why}; the form is ${PUBLISH_FORM}`);
  const [spec, protocolText] = splitOnce(text, '/');
  const protocol = parseProtocol(protocolText, fail);
  const parts = spec.split(':');
  // IPv6 host addresses would need brackets, and the agent binds IPv4 only.
  if (parts.length > 3) throw fail('too many colons (the host address is IPv4)');
  const [hostIp, hostPorts, containerPorts] = parts.length === 3 ? parts : parts.length === 2 ? ['', ...parts] : ['', '', ...parts];
  if (hostIp !== '' && !IPV4.test(hostIp)) throw fail(`"${hostIp}" is not an IPv4 address`);
  const container = parseRange(containerPorts, 'container port', fail);
  const host = hostPorts === '' ? undefined : parseRange(hostPorts, 'host port', fail);
  // Docker would pick one free port of a longer host range; a PortBinding holds one port, so refuse.
  if (host !== undefined && host.last - host.first !== container.last - container.first) {
    throw fail('the host and container port ranges must be the same length');
  }
  return portsOf(container).map((containerPort, index) => ({
    containerPort,
    protocol,
    hostIp,
    hostPort: host === undefined ? 0 : host.first + index,
  }));
}

/** `--expose PORT[/PROTOCOL]` (or a range, `8000-8010/udp`): the container ports as Docker keys them, "80/tcp". */
export function parseExpose(text: string): string[] {
  const fail = (why: string) => invalidArgument(`invalid --expose "${text}": ${why}; the form is PORT[/PROTOCOL] or FIRST-LAST[/PROTOCOL]`);
  const [ports, protocolText] = splitOnce(text, '/');
  const protocol = parseProtocol(protocolText, fail);
  return portsOf(parseRange(ports, 'port', fail)).map((port) => `${port}/${protocol}`);
}

/** `berth port CONTAINER PRIVATE_PORT[/PROTOCOL]`'s port, as Docker keys it: "80" → "80/tcp". */
export function parsePrivatePort(text: string): string {
  const fail = (why: string) => invalidArgument(`invalid port "${text}": ${why}; the form is PORT[/PROTOCOL]`);
  const [portText, protocolText] = splitOnce(text, '/');
  const protocol = parseProtocol(protocolText, fail);
  const { first, last } = parseRange(portText, 'port', fail);
  if (first !== last) throw fail('give one port, not a range');
  return `${first}/${protocol}`;
}

/** "tcp" when not given, as Docker; sctp, which Docker also knows, the agent does not forward. */
function parseProtocol(text: string, fail: (why: string) => Error): 'tcp' | 'udp' {
  const protocol = text.toLowerCase();
  if (protocol === '' || protocol === 'tcp') return 'tcp';
  if (protocol === 'udp') return 'udp';
  throw fail(`the protocol is tcp or udp, not "${text}"`);
}

function parseRange(text: string, what: string, fail: (why: string) => Error): PortRange {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  const first = Number(match?.[1]);
  const last = match?.[2] === undefined ? first : Number(match[2]);
  const valid = (port: number) => Number.isInteger(port) && port >= 1 && port <= 65_535;
  if (match === null || !valid(first) || !valid(last)) throw fail(`the ${what} "${text}" is not a port (1-65535) or a range of them (FIRST-LAST)`);
  if (last < first) throw fail(`the ${what} range "${text}" ends before it starts`);
  return { first, last };
}

function portsOf({ first, last }: PortRange): number[] {
  return Array.from({ length: last - first + 1 }, (_, index) => first + index);
}
