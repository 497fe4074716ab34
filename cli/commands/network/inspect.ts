import { invalidArgument, isBerthError, messageOf } from '../../../libs/errors';
import type { network } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { networkService } from '../../client';
import { printInspected } from '../../output';

/**
 * `berth network inspect [-f TEMPLATE] NETWORK...`: a JSON array in Docker's shape; an unknown
 * network is reported and the known ones still printed, with exit 1, as Docker does.
 */
export async function inspectNetworks(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { format: { type: 'string', short: 'f' } }, 'network inspect');
  if (positionals.length === 0) throw invalidArgument('network inspect: give at least one network');
  const service = networkService();
  const found: unknown[] = [];
  let failed = false;
  try {
    for (const name of positionals) {
      try {
        const response = await service.call<network.InspectNetworkResponse>((m, o, cb) => service.client.inspectNetwork({ network: name }, m, o, cb));
        found.push(dockerNetwork(response.network!));
      } catch (err) {
        process.stderr.write(isBerthError(err, 'not_found') ? `Error: No such network: ${name}\n` : `berth: ${messageOf(err)}\n`);
        failed = true;
      }
    }
  } finally {
    service.close();
  }
  printInspected(found, values.format);
  return failed ? 1 : 0;
}

/** A network as `docker network inspect` shows it; the fields Berth has no use for keep Docker's defaults. */
function dockerNetwork(n: network.Network): Record<string, unknown> {
  return {
    Name: n.name,
    Id: n.id,
    Created: goTimeNano(n.created),
    Scope: n.scope,
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: {
      Driver: 'default',
      Options: {},
      // Docker leaves Gateway out when there is none (omitempty); host and none have no subnet at all.
      Config: n.subnet === '' ? [] : [{ Subnet: n.subnet, ...(n.gateway === '' ? {} : { Gateway: n.gateway }) }],
    },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(n.endpoints.map((e) => [e.containerId, dockerEndpoint(e)])),
    Options: n.bridge === '' ? {} : { 'com.docker.network.bridge.name': n.bridge },
    Labels: n.labels,
  };
}

function dockerEndpoint(e: network.NetworkEndpoint): Record<string, unknown> {
  return {
    Name: e.containerName,
    EndpointID: '',
    MacAddress: e.macAddress,
    IPv4Address: e.ipAddress === '' ? '' : `${e.ipAddress}/${e.prefixLength}`,
    IPv6Address: '',
  };
}

/**
 * Go's RFC 3339 with nanoseconds, as Docker prints a network's Created: the fraction without its
 * trailing zeros, none when whole (a Date holds milliseconds, so that is all there is to print).
 */
function goTimeNano(date: Date | undefined): string {
  if (date === undefined) return '0001-01-01T00:00:00Z';
  return date.toISOString().replace(/\.(\d*?)0*Z$/, (_match, fraction: string) => (fraction === '' ? 'Z' : `.${fraction}Z`));
}
