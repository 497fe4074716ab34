import { invalidArgument, messageOf } from '../../../libs/errors';
import type { imagestore } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { imageStore } from '../../client';

/** `berth rmi [-f] [--no-prune] IMAGE...`: prints Untagged/Deleted lines; exit 1 if one failed. */
export async function rmi(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      force: { type: 'boolean', short: 'f', default: false, description: 'Remove an image that containers use, or an id with several names' },
      'no-prune': { type: 'boolean', default: false, description: 'Do not delete untagged parents' },
    },
    'rmi',
  );
  if (positionals.length === 0) throw invalidArgument('rmi: give at least one image');
  const store = imageStore();
  let failed = false;
  try {
    for (const image of positionals) {
      try {
        const removed = await store.call<imagestore.RemoveResponse>((m, o, cb) =>
          store.client.remove({ image, force: values.force, noPrune: values['no-prune'] }, m, o, cb),
        );
        for (const name of removed.untagged) process.stdout.write(`Untagged: ${name}\n`);
        for (const id of removed.deleted) process.stdout.write(`Deleted: ${id}\n`);
      } catch (err) {
        process.stderr.write(`berth: ${messageOf(err)}\n`);
        failed = true;
      }
    }
  } finally {
    store.close();
  }
  return failed ? 1 : 0;
}
