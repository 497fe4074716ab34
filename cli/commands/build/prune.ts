import { parseFlags } from '../../args';
import { builderService } from '../../client';
import { humanSize } from '../../progress';
import type { builder } from '../../../libs/proto';

/** `berth builder prune [-a] [-f] [--filter until=24h]`: drops the build cache; prints what it freed. */
export async function builderPrune(args: string[]): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      all: { type: 'boolean', short: 'a', description: "Remove all the build cache; accepted for Docker's scripts, it always is" },
      force: { type: 'boolean', short: 'f', description: 'Do not prompt for confirmation; Berth never does' },
      filter: { type: 'string', multiple: true, value: 'until=TIME', description: 'Remove only the cache last used before a time: a duration ago (e.g. 24h) or a timestamp; other keys are ignored' },
    },
    'builder prune',
  );
  const until = (values.filter ?? []).find((filter) => filter.startsWith('until='))?.slice('until='.length) ?? '';
  const service = builderService();
  try {
    const response = await service.call<builder.PruneResponse>((m, o, cb) => service.client.prune({ keepNewerThan: until }, m, o, cb));
    for (const id of response.deletedImages) process.stdout.write(`Deleted build cache image: ${id}\n`);
    process.stdout.write(`Total reclaimed space: ${humanSize(response.spaceReclaimed)} (${response.entries} cache entries)\n`);
  } finally {
    service.close();
  }
  return 0;
}
