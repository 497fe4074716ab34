import type { network } from '../proto';

/** A network as `docker network inspect` shows it; the fields Berth has no use for keep Docker's defaults. */
export function dockerNetwork(n: network.Network): Record<string, unknown> {
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
