import { invalidArgument } from '../../../libs/errors';

/** An IPv4 subnet: its network address and prefix length. */
export interface Subnet {
  base: number;
  prefix: number;
}

export function parseAddress(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) throw invalidArgument(`"${text}" is not an IPv4 address`);
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

export function formatAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** "10.89.3.0/24", its host bits zero. */
export function parseSubnet(text: string): Subnet {
  const [address, prefixText, extra] = text.split('/');
  const prefix = Number(prefixText);
  if (extra !== undefined || prefixText === undefined || !/^\d{1,2}$/.test(prefixText) || prefix < 8 || prefix > 30) {
    throw invalidArgument(`"${text}" is not an IPv4 subnet in CIDR notation with a prefix from /8 to /30`);
  }
  const base = parseAddress(address!);
  if (base % 2 ** (32 - prefix) !== 0) throw invalidArgument(`subnet "${text}" has host bits set: did you mean ${formatSubnet({ base: base - (base % 2 ** (32 - prefix)), prefix })}?`);
  return { base, prefix };
}

export function formatSubnet(subnet: Subnet): string {
  return `${formatAddress(subnet.base)}/${subnet.prefix}`;
}

export function subnetSize(subnet: Subnet): number {
  return 2 ** (32 - subnet.prefix);
}

export function contains(subnet: Subnet, address: number): boolean {
  return address >= subnet.base && address < subnet.base + subnetSize(subnet);
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.base < b.base + subnetSize(b) && b.base < a.base + subnetSize(a);
}

/**
 * The lowest address of the subnet that is neither its network nor broadcast address, nor the
 * gateway, nor taken; undefined when the subnet is full.
 */
export function firstFreeAddress(subnet: Subnet, gateway: number, taken: Set<number>): number | undefined {
  for (let address = subnet.base + 1; address < subnet.base + subnetSize(subnet) - 1; address++) {
    if (address !== gateway && !taken.has(address)) return address;
  }
  return undefined;
}

/** A locally administered MAC derived from the address, as Docker derives 02:42:… from it. */
export function macFor(address: number): string {
  return ['02', '42', ...[24, 16, 8, 0].map((shift) => (Math.floor(address / 2 ** shift) % 256).toString(16).padStart(2, '0'))].join(':');
}
