import type { network } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { networkService } from '../../client';
import { parseFilters } from '../../output';

/**
 * `berth network prune [--filter label=k=v|until=24h]...`: removes the user-defined networks no
 * container is on. -f is taken for Docker's scripts; like the other prunes, it never asks.
 */
export async function pruneNetworks(args: string[]): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      force: { type: 'boolean', short: 'f', default: true, description: 'Do not prompt for confirmation; Berth never does' },
      filter: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'Remove only networks that match: label=KEY[=VALUE], until=TIMESTAMP|DURATION (created before)' },
    },
    'network prune',
  );
  const service = networkService();
  let result: network.PruneNetworksResponse;
  try {
    result = await service.call<network.PruneNetworksResponse>((m, o, cb) => service.client.pruneNetworks({ filters: parseFilters(values.filter) }, m, o, cb));
  } finally {
    service.close();
  }
  if (result.deleted.length > 0) process.stdout.write(`Deleted Networks:\n${result.deleted.map((name) => `${name}\n`).join('')}\n`);
  return 0;
}
