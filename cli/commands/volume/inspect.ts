import { invalidArgument, isBerthError, messageOf } from '../../../libs/errors';
import type { volume } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { volumeService } from '../../client';
import { printInspected } from '../../output';
import { dockerVolume } from '../../../libs/docker';

/**
 * `berth volume inspect [-f TEMPLATE] VOLUME...`: a JSON array in Docker's shape; an unknown name is
 * reported and the known ones still printed, with exit 1, as Docker does.
 */
export async function inspectVolumes(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { format: { type: 'string', short: 'f', value: 'TEMPLATE', description: 'Print each volume through a Go template ({{.Field}} or {{json .Field}}) instead of JSON' } }, 'volume inspect');
  if (positionals.length === 0) throw invalidArgument('volume inspect: give at least one volume');
  const service = volumeService();
  const found: unknown[] = [];
  let failed = false;
  try {
    for (const name of positionals) {
      try {
        const response = await service.call<volume.InspectResponse>((m, o, cb) => service.client.inspect({ name }, m, o, cb));
        found.push(dockerVolume(response.volume!));
      } catch (err) {
        process.stderr.write(isBerthError(err, 'not_found') ? `Error: No such volume: ${name}\n` : `berth: ${messageOf(err)}\n`);
        failed = true;
      }
    }
  } finally {
    service.close();
  }
  printInspected(found, values.format);
  return failed ? 1 : 0;
}
