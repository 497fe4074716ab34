import type { network, runtime } from '../proto';
import { portKey } from './ports';

/**
 * Config.ExposedPorts as Docker shows it ({"80/tcp": {}}), absent when there are none (Docker's
 * omitempty). Docker's client adds each `-p` port to the exposed ones; Berth sends them only as
 * bindings, so that `-P` does not publish them a second time, and adds them back here.
 */
export function dockerExposedPorts(config: runtime.ContainerConfig, host: runtime.HostConfig): Record<string, unknown> {
  const keys = new Set([...config.exposedPorts, ...host.portBindings.map(portKey)]);
  return keys.size === 0 ? {} : { ExposedPorts: Object.fromEntries([...keys].map((key) => [key, {}])) };
}

/** HostConfig.PortBindings as Docker shows it: {"80/tcp": [{HostIp: "", HostPort: "8080"}]}, "" for a port picked at start. */
export function dockerPortBindings(bindings: readonly runtime.PortBinding[]): Record<string, Array<{ HostIp: string; HostPort: string }>> {
  const byPort: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const binding of bindings) {
    (byPort[portKey(binding)] ??= []).push({ HostIp: binding.hostIp, HostPort: binding.hostPort === 0 ? '' : String(binding.hostPort) });
  }
  return byPort;
}

/**
 * NetworkSettings as `docker inspect` shows it. The top-level address fields are the default
 * bridge's endpoint, as in Docker, where they are empty for containers on other networks.
 */
export function dockerNetworkSettings(c: runtime.ContainerDetail): Record<string, unknown> {
  const bridge = c.networks.find((endpoint) => endpoint.networkName === 'bridge');
  return {
    Bridge: '',
    SandboxID: '',
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    Ports: dockerPorts(c),
    SandboxKey: c.sandboxKey,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: '',
    Gateway: bridge?.gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: bridge?.ipAddress ?? '',
    IPPrefixLen: bridge?.prefixLength ?? 0,
    IPv6Gateway: '',
    MacAddress: bridge?.macAddress ?? '',
    Networks: Object.fromEntries(c.networks.map((endpoint) => [endpoint.networkName, dockerEndpoint(endpoint)])),
  };
}

/**
 * NetworkSettings.Ports: each exposed or published port, with the host addresses it is reached at
 * while the container runs, null for those not published (Docker's way of listing them). Empty
 * when the container does not run or has no network namespace of its own, as Docker's is.
 */
function dockerPorts(c: runtime.ContainerDetail): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const status = c.state?.status;
  if (status !== 'running' && status !== 'paused' && status !== 'restarting') return {};
  if (c.hostConfig!.networkMode === 'host' || c.hostConfig!.networkMode === 'none') return {};
  const ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  const exposed = [...c.config!.exposedPorts, ...c.hostConfig!.portBindings.map(portKey)];
  for (const key of exposed) ports[key] = null;
  for (const port of c.ports.filter((p) => p.hostPort !== 0)) {
    (ports[portKey(port)] ??= []).push({ HostIp: port.hostIp || '0.0.0.0', HostPort: String(port.hostPort) });
  }
  return ports;
}

function dockerEndpoint(endpoint: network.NetworkEndpoint): Record<string, unknown> {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: endpoint.aliases.length === 0 ? null : endpoint.aliases,
    NetworkID: endpoint.networkId,
    EndpointID: '',
    Gateway: endpoint.gateway,
    IPAddress: endpoint.ipAddress,
    IPPrefixLen: endpoint.prefixLength,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    MacAddress: endpoint.macAddress,
    DriverOpts: null,
  };
}
