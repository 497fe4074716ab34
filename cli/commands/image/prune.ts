import type { imagestore } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { imageStore } from '../../client';
import { parseFilters } from '../../output';
import { humanSize } from '../../progress';

/** `berth image prune [-a] [--filter k=v]...`: removes dangling (with -a, all unused) images and unreferenced blobs. */
export async function prune(args: string[]): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      filter: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'Remove only images that match: until=TIMESTAMP|DURATION (created before), label=KEY[=VALUE], label!=KEY[=VALUE]' },
      force: { type: 'boolean', short: 'f', default: true, description: 'Do not prompt for confirmation; Berth never does' },
      all: { type: 'boolean', short: 'a', default: false, description: 'Remove every image no container uses, not only dangling ones' },
    },
    'image prune',
  );
  const store = imageStore();
  let result: imagestore.PruneResponse;
  try {
    result = await store.call<imagestore.PruneResponse>((m, o, cb) => store.client.prune({ filters: parseFilters(values.filter), all: values.all }, m, o, cb));
  } finally {
    store.close();
  }
  if (result.deleted.length > 0) process.stdout.write(`Deleted Images:\n${result.deleted.map((id) => `deleted: ${id}\n`).join('')}\n`);
  process.stdout.write(`Total reclaimed space: ${humanSize(result.spaceReclaimed)}\n`);
  return 0;
}
