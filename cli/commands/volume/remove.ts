import { invalidArgument, messageOf } from '../../../libs/errors';
import { parseFlags } from '../../args';
import { volumeService } from '../../client';

/** `berth volume rm [-f] VOLUME...`: prints each removed name; exit 1 if one failed. */
export async function removeVolumes(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { force: { type: 'boolean', short: 'f', default: false, description: 'Remove a volume that stopped containers use (never one a running container has mounted)' } }, 'volume rm');
  if (positionals.length === 0) throw invalidArgument('volume rm: give at least one volume');
  const service = volumeService();
  let failed = false;
  try {
    for (const name of positionals) {
      try {
        // Deleting a volume's data takes as long as there is data: no deadline.
        await service.call((m, o, cb) => service.client.remove({ name, force: values.force }, m, { ...o, deadline: Infinity }, cb));
        process.stdout.write(`${name}\n`);
      } catch (err) {
        process.stderr.write(`berth: volume rm ${name}: ${messageOf(err)}\n`);
        failed = true;
      }
    }
  } finally {
    service.close();
  }
  return failed ? 1 : 0;
}
