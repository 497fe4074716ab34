import { alreadyExists, failedPrecondition, notFound } from '../../../libs/errors';
import { attachEndpoint, DEFAULT_NETWORK, detachEndpoint, HOST_MODE, NONE_MODE } from '../network';
import type { RuntimeContext } from './context';
import { findLocalContainer } from './lookup';
import { currentContainer } from './start';

/** `docker network connect`: a new endpoint, and for a running container its interface at once. */
export async function connectContainer(context: RuntimeContext, networkText: string, containerText: string, aliases: string[]): Promise<void> {
  const network = await context.networks.find(networkText);
  const { id } = await findLocalContainer(context, containerText);
  await context.locks.run(id, async () => {
    const container = await currentContainer(context, id);
    const mode = container.spec.network?.mode ?? NONE_MODE;
    if (mode === HOST_MODE || mode === NONE_MODE) throw failedPrecondition(`container ${container.name} uses --network ${mode}: it cannot join other networks`);
    if (aliases.length > 0 && network.name === DEFAULT_NETWORK) throw failedPrecondition('network aliases work only on user-defined networks');
    const endpoints = await context.networks.repository.endpointsOfContainer(id);
    if (endpoints.some((endpoint) => endpoint.networkId === network.id)) throw alreadyExists(`container ${container.name} is already connected to network ${network.name}`);
    const position = Math.max(-1, ...endpoints.map((endpoint) => endpoint.position)) + 1;
    const endpoint = await context.networks.addEndpoint(network, id, aliases, position);
    if (container.state === 'running' || container.state === 'paused') {
      try {
        await attachEndpoint(id, endpoint, network);
      } catch (err) {
        await context.networks.repository.deleteEndpoint(network.id, id);
        throw err;
      }
    }
    await context.networks.refreshNames();
    await context.networks.recordEvent(network, 'connect', id);
  });
}

/** `docker network disconnect`: the endpoint goes, and a running container's interface with it. */
export async function disconnectContainer(context: RuntimeContext, networkText: string, containerText: string): Promise<void> {
  const network = await context.networks.find(networkText);
  const { id } = await findLocalContainer(context, containerText);
  await context.locks.run(id, async () => {
    const container = await currentContainer(context, id);
    const endpoint = (await context.networks.repository.endpointsOfContainer(id)).find((candidate) => candidate.networkId === network.id);
    if (endpoint === undefined) throw notFound(`container ${container.name} is not connected to network ${network.name}`);
    if (container.state === 'running' || container.state === 'paused') await detachEndpoint(id, endpoint);
    await context.networks.repository.deleteEndpoint(network.id, id);
    await context.networks.refreshNames();
    await context.networks.recordEvent(network, 'disconnect', id);
  });
}
