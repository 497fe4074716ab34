import { invalidArgument, isBerthError, messageOf } from '../../../libs/errors';
import { parseFlags } from '../../args';
import { networkService } from '../../client';

/** `berth network rm [-f] NETWORK...`: prints each removed name; exit 1 if one failed. -f: a missing network is no failure. */
export async function removeNetworks(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { force: { type: 'boolean', short: 'f', default: false, description: 'Do not fail when a network does not exist' } }, 'network rm');
  if (positionals.length === 0) throw invalidArgument('network rm: give at least one network');
  const service = networkService();
  let failed = false;
  try {
    for (const name of positionals) {
      try {
        await service.call((m, o, cb) => service.client.removeNetwork({ network: name }, m, o, cb));
        process.stdout.write(`${name}\n`);
      } catch (err) {
        if (values.force && isBerthError(err, 'not_found')) continue;
        process.stderr.write(`berth: network rm ${name}: ${messageOf(err)}\n`);
        failed = true;
      }
    }
  } finally {
    service.close();
  }
  return failed ? 1 : 0;
}
