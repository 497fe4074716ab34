import { type BerthError, invalidArgument } from '../../../libs/errors';

/** `80`, `80/tcp`, `53/udp`, `8000-8010`, `8000-8010/sctp`: Docker's EXPOSE forms (no host part). */
const PORT_SPEC = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i;

/**
 * EXPOSE's ports as the image config keys them, "port/protocol", a range giving each of its ports;
 * the protocol defaults to tcp. Duplicates are dropped, the config being a set.
 */
export function exposedPorts(specs: string[]): string[] {
  const ports = new Set<string>();
  for (const spec of specs) {
    const match = PORT_SPEC.exec(spec);
    if (match === null) throw invalidPort(spec);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (first > 65535 || last > 65535 || first > last) throw invalidPort(spec);
    const protocol = (match[3] ?? 'tcp').toLowerCase();
    for (let port = first; port <= last; port++) ports.add(`${port}/${protocol}`);
  }
  return [...ports];
}

function invalidPort(spec: string): BerthError {
  return invalidArgument(`invalid port "${spec}" in EXPOSE: use port[/tcp|/udp|/sctp] or first-last[/protocol], ports up to 65535`);
}
