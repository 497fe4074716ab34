import { invalidArgument } from '../../../libs/errors';
import { archiveOutput, readArchive } from '../../archive';
import { parseFlags } from '../../args';
import { volumeService } from '../../client';

/** `berth volume export [-o FILE] VOLUME`: the volume's content as a tar, to stdout unless -o. */
export async function exportVolume(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { output: { type: 'string', short: 'o', value: 'FILE', description: 'Write the tar to a file instead of STDOUT' } }, 'volume export');
  if (positionals.length !== 1) throw invalidArgument('volume export: give one volume');
  const name = positionals[0]!;
  const out = archiveOutput(values.output, 'volume export');
  const service = volumeService();
  try {
    await readArchive(service.client.export({ name }, service.metadata(), { deadline: Infinity }), service.endpoint, out, (message) => {
      // Only the first message names them: the containers that may write while the tar is made.
      if (message.mountedBy.length === 0) return;
      const ids = message.mountedBy.map((id) => id.slice(0, 12)).join(',');
      process.stderr.write(`warning: volume ${name} is in use by running container(s) ${ids}: the export may not be consistent unless they are paused\n`);
    });
  } finally {
    service.close();
  }
  return 0;
}
