import type { volume } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { volumeService } from '../../client';
import { parseFilters } from '../../output';
import { humanSize } from '../../progress';

/**
 * `berth volume prune [-a] [--filter label=k=v]...`: removes the volumes no container uses (only
 * anonymous ones without -a). -f is taken for Docker's scripts; like `image prune`, it never asks.
 */
export async function pruneVolumes(args: string[]): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      all: { type: 'boolean', short: 'a', default: false, description: 'Remove named volumes no container uses too, not only anonymous ones' },
      force: { type: 'boolean', short: 'f', default: true, description: 'Do not prompt for confirmation; Berth never does' },
      filter: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'Remove only volumes that match: label=KEY[=VALUE] or label!=KEY[=VALUE]' },
    },
    'volume prune',
  );
  const service = volumeService();
  let result: volume.PruneResponse;
  try {
    // Deleting volumes' data takes as long as there is data: no deadline.
    result = await service.call<volume.PruneResponse>((m, o, cb) =>
      service.client.prune({ all: values.all, filters: parseFilters(values.filter) }, m, { ...o, deadline: Infinity }, cb),
    );
  } finally {
    service.close();
  }
  if (result.deleted.length > 0) process.stdout.write(`Deleted Volumes:\n${result.deleted.map((name) => `${name}\n`).join('')}\n`);
  process.stdout.write(`Total reclaimed space: ${humanSize(result.spaceReclaimed)}\n`);
  return 0;
}
