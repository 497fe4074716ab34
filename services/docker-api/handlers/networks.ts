import type { BerthClient } from '../../../client';
import { dockerNetwork } from '../../../libs/docker';
import { invalidArgument } from '../../../libs/errors';
import { filters, sendJson, sendNoContent, type Router } from '../http/router';

/** /networks/...: Docker's network verbs over the runtime-agent's NetworkService. */
export function networkRoutes(router: Router, berth: BerthClient): void {
  const { networks } = berth;

  router.on('GET', '/networks', async ({ query, response }) => {
    const listed = await networks.call('listNetworks', { filters: filters(query) });
    sendJson(response, 200, listed.networks.map(dockerNetwork));
  });

  router.on('POST', '/networks/create', async ({ json, response }) => {
    const body = await json<{ Name?: string; Driver?: string; Internal?: boolean; Labels?: Record<string, string> | null; EnableIPv6?: boolean; IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> | null } | null }>();
    if (body.EnableIPv6) throw invalidArgument('IPv6 networks are not supported by Berth');
    const ipam = body.IPAM?.Config ?? [];
    if (ipam.length > 1) throw invalidArgument('Berth networks take one IPAM config (one IPv4 subnet)');
    const created = await networks.call('createNetwork', {
      name: body.Name ?? '',
      driver: body.Driver ?? '',
      subnet: ipam[0]?.Subnet ?? '',
      gateway: ipam[0]?.Gateway ?? '',
      internal: body.Internal ?? false,
      labels: body.Labels ?? {},
    });
    sendJson(response, 201, { Id: created.id, Warning: '' });
  });

  router.on('GET', '/networks/{id}', async ({ params, response }) => {
    const { network } = await networks.call('inspectNetwork', { network: params.id! });
    sendJson(response, 200, dockerNetwork(network!));
  });

  router.on('DELETE', '/networks/{id}', async ({ params, response }) => {
    await networks.call('removeNetwork', { network: params.id! });
    sendNoContent(response);
  });

  router.on('POST', '/networks/{id}/connect', async ({ params, json, response }) => {
    const body = await json<{ Container?: string; EndpointConfig?: { Aliases?: string[] | null } | null }>();
    await networks.call('connectNetwork', { network: params.id!, container: body.Container ?? '', aliases: body.EndpointConfig?.Aliases ?? [] });
    sendNoContent(response, 200);
  });

  router.on('POST', '/networks/{id}/disconnect', async ({ params, json, response }) => {
    const body = await json<{ Container?: string }>();
    await networks.call('disconnectNetwork', { network: params.id!, container: body.Container ?? '' });
    sendNoContent(response, 200);
  });

  router.on('POST', '/networks/prune', async ({ query, response }) => {
    const { deleted } = await networks.call('pruneNetworks', { filters: filters(query) });
    sendJson(response, 200, { NetworksDeleted: deleted });
  });
}
