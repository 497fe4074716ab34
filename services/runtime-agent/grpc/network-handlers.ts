import { createHash } from 'node:crypto';
import { failedPrecondition, invalidArgument } from '../../../libs/errors';
import { checkFilterKeys, filterLists, matchesLabel, untilTime } from '../../../libs/filters';
import type { network } from '../../../libs/proto';
import type { ServiceContext } from '../../../libs/service';
import { connectContainer, disconnectContainer, type RuntimeContext } from '../containers';
import { DEFAULT_NETWORK, HOST_MODE, NONE_MODE } from '../network';
import { toEndpoint, toNetwork } from './mapping';

/** The NetworkService RPCs: proto in, domain call, proto out. */
export function networkHandlers(service: ServiceContext, context: RuntimeContext): network.NetworkServiceServer {
  const { rpc } = service;
  const networks = context.networks;
  return {
    createNetwork: rpc.unary(async (request: network.CreateNetworkRequest) => {
      if (request.driver !== '' && request.driver !== 'bridge') throw invalidArgument(`network driver "${request.driver}" is not supported: use bridge`);
      const created = await networks.create({ name: request.name, subnet: request.subnet, gateway: request.gateway, internal: request.internal, labels: request.labels });
      return { id: created.id };
    }),

    inspectNetwork: rpc.unary(async (request: network.InspectNetworkRequest) => {
      const builtin = predefined(context.node).find((item) => item.name === request.network || item.id === request.network);
      if (builtin !== undefined) return { network: builtin };
      const found = await networks.find(request.network);
      const endpoints = (await networks.namedEndpoints(found.id)).map((endpoint) => toEndpoint({ ...endpoint, network: found }, endpoint.containerName));
      return { network: toNetwork(found, endpoints, context.node) };
    }),

    listNetworks: rpc.unary(async (request: network.ListNetworksRequest) => {
      const filters = filterLists(request.filters);
      const listed = (await networks.list()).map((item) => toNetwork(item, [], context.node));
      const all = [...listed, ...predefined(context.node)].sort((a, b) => (a.name < b.name ? -1 : 1));
      return { networks: all.filter((item) => matchesNetwork(item, filters)) };
    }),

    removeNetwork: rpc.unary(async (request: network.RemoveNetworkRequest) => {
      if (predefined(context.node).some((item) => item.name === request.network)) throw failedPrecondition(`${request.network} is a pre-defined network and cannot be removed`);
      await networks.remove(request.network);
      return {};
    }),

    pruneNetworks: rpc.unary(async (request: network.PruneNetworksRequest) => {
      const filters = filterLists(request.filters);
      checkFilterKeys(filters, ['label', 'until']);
      const deleted: string[] = [];
      for (const item of await networks.list()) {
        if (item.name === DEFAULT_NETWORK || !(filters.label ?? []).every((label) => matchesLabel(item.labels, label))) continue;
        if ((filters.until ?? []).some((until) => item.createdAt >= untilTime(until))) continue;
        if ((await networks.namedEndpoints(item.id)).length > 0) continue;
        deleted.push((await networks.remove(item.id)).name);
      }
      return { deleted };
    }),

    connectNetwork: rpc.unary(async (request: network.ConnectNetworkRequest) => {
      await connectContainer(context, request.network, request.container, request.aliases);
      return {};
    }),

    disconnectNetwork: rpc.unary(async (request: network.DisconnectNetworkRequest) => {
      await disconnectContainer(context, request.network, request.container);
      return {};
    }),
  };
}

/** `docker network ls --filter`: name (substring), id (prefix), driver, label, type (builtin or custom). */
function matchesNetwork(item: network.Network, filters: Record<string, string[]>): boolean {
  const builtin = item.name === DEFAULT_NETWORK || item.name === HOST_MODE || item.name === NONE_MODE;
  return (
    (filters.name ?? []).every((name) => item.name.includes(name)) &&
    (filters.id ?? []).every((id) => item.id.startsWith(id)) &&
    (filters.driver ?? []).every((driver) => driver === item.driver) &&
    (filters.label ?? []).every((label) => matchesLabel(item.labels, label)) &&
    (filters.type ?? []).every((type) => (type === 'builtin') === builtin)
  );
}

/**
 * `host` and `none`, which Docker lists beside the bridges: modes rather than networks here (no
 * rows, no addresses), with ids that stay the same on a node.
 */
function predefined(node: string): network.Network[] {
  return [
    [HOST_MODE, 'host'],
    [NONE_MODE, 'null'],
  ].map(([name, driver]) => ({
    id: createHash('sha256').update(`${node}/${name}`).digest('hex'),
    name: name!,
    driver: driver!,
    scope: 'local',
    subnet: '',
    gateway: '',
    internal: false,
    labels: {},
    created: new Date(0),
    bridge: '',
    endpoints: [],
    node,
  }));
}
