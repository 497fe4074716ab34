import { type BerthError, invalidArgument } from '../../../libs/errors';

/** `80`, `80/tcp`, `53/udp`, `8000-8010`, `8000-8010/sctp`: Docker's EXPOSE forms (no host part). */
const PORT_SPEC = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i;

/**
 * EXPOSE's ports as the image config keys them, "port/protocol", a range giving each of its ports;
 * the protocol defaults to tcp. Duplicates are dropped, the config being a set; the order is that of
 * first mention.
 */
export function exposedPorts(specs: string[]): string[] {
  const ports: string[] = [];
  // Per protocol, the ports not given yet, so that a range costs only its new ports: `EXPOSE 1-65535`
  // written a thousand times would otherwise be 65 million steps, the builder blocked for as long.
  const notYetGiven = new Map<string, Int32Array>();
  for (const spec of specs) {
    const match = PORT_SPEC.exec(spec);
    if (match === null) throw invalidPort(spec);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (first > 65535 || last > 65535 || first > last) throw invalidPort(spec);
    const protocol = (match[3] ?? 'tcp').toLowerCase();
    let next = notYetGiven.get(protocol);
    if (next === undefined) notYetGiven.set(protocol, (next = Int32Array.from({ length: 65537 }, (_, port) => port)));
    for (let port = nextNotGiven(next, first); port <= last; port = nextNotGiven(next, port + 1)) {
      ports.push(`${port}/${protocol}`);
      next[port] = port + 1;
    }
  }
  return ports;
}

/**
 * The first port at or after port not given yet: next[p] is p itself until p is given, then points
 * further on (a union-find over the ports, its paths halved as they are walked; 65536 is never given).
 */
function nextNotGiven(next: Int32Array, port: number): number {
  while (next[port] !== port) {
    next[port] = next[next[port]!]!;
    port = next[port]!;
  }
  return port;
}

function invalidPort(spec: string): BerthError {
  return invalidArgument(`invalid port "${spec}" in EXPOSE: use port[/tcp|/udp|/sctp] or first-last[/protocol], ports up to 65535`);
}
