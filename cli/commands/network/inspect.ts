import { invalidArgument, isBerthError, messageOf } from '../../../libs/errors';
import type { network } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { networkService } from '../../client';
import { printInspected } from '../../output';
import { dockerNetwork } from '../../../libs/docker';

/**
 * `berth network inspect [-f TEMPLATE] NETWORK...`: a JSON array in Docker's shape; an unknown
 * network is reported and the known ones still printed, with exit 1, as Docker does.
 */
export async function inspectNetworks(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { format: { type: 'string', short: 'f', value: 'TEMPLATE', description: 'Print each network through a Go template ({{.Field}} or {{json .Field}}) instead of JSON' } }, 'network inspect');
  if (positionals.length === 0) throw invalidArgument('network inspect: give at least one network');
  const service = networkService();
  const found: unknown[] = [];
  let failed = false;
  try {
    for (const name of positionals) {
      try {
        const response = await service.call<network.InspectNetworkResponse>((m, o, cb) => service.client.inspectNetwork({ network: name }, m, o, cb));
        found.push(dockerNetwork(response.network!));
      } catch (err) {
        process.stderr.write(isBerthError(err, 'not_found') ? `Error: No such network: ${name}\n` : `berth: ${messageOf(err)}\n`);
        failed = true;
      }
    }
  } finally {
    service.close();
  }
  printInspected(found, values.format);
  return failed ? 1 : 0;
}
