import { invalidArgument } from '../../../libs/errors';
import { parseFlags } from '../../args';
import { networkService } from '../../client';

/** `berth network connect [--alias NAME]... NETWORK CONTAINER`: prints nothing, as Docker. */
export async function connectNetwork(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { alias: { type: 'string', multiple: true, value: 'ALIAS', description: 'Add a name other containers on the network reach this one by' } }, 'network connect');
  if (positionals.length !== 2) throw invalidArgument('network connect: give the network and the container');
  const [networkName, container] = positionals as [string, string];
  const service = networkService();
  try {
    await service.call((m, o, cb) => service.client.connectNetwork({ network: networkName, container, aliases: values.alias ?? [] }, m, o, cb));
  } finally {
    service.close();
  }
  return 0;
}

/**
 * `berth network disconnect [-f] NETWORK CONTAINER`: prints nothing, as Docker. -f is taken so that
 * Docker's scripts run, but changes nothing: the API has no forced disconnect.
 */
export async function disconnectNetwork(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, { force: { type: 'boolean', short: 'f', default: false, description: "Accepted for Docker's scripts; changes nothing" } }, 'network disconnect');
  if (positionals.length !== 2) throw invalidArgument('network disconnect: give the network and the container');
  const [networkName, container] = positionals as [string, string];
  const service = networkService();
  try {
    await service.call((m, o, cb) => service.client.disconnectNetwork({ network: networkName, container }, m, o, cb));
  } finally {
    service.close();
  }
  return 0;
}
