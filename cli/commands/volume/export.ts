import { invalidArgument } from '../../../libs/errors';
import { archiveOutput, readArchive } from '../../archive';
import { parseFlags } from '../../args';
import type { runtime } from '../../../libs/proto';
import { runtimeAgent, volumeService } from '../../client';

/** `berth volume export [-o FILE] VOLUME`: the volume's content as a tar, to stdout unless -o. */
export async function exportVolume(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { output: { type: 'string', short: 'o', value: 'FILE', description: 'Write the tar to a file instead of STDOUT' } }, 'volume export');
  if (positionals.length !== 1) throw invalidArgument('volume export: give one volume');
  const name = positionals[0]!;
  const out = archiveOutput(values.output, 'volume export');
  const service = volumeService();
  let warning: Promise<void> | undefined;
  try {
    await readArchive(service.client.export({ name }, service.metadata(), { deadline: Infinity }), service.endpoint, out, (message) => {
      // Only the first message names them: the containers that have it mounted while the tar is made.
      if (message.mountedBy.length > 0) warning ??= warnOfWriters(name, message.mountedBy);
    });
    await warning;
  } finally {
    service.close();
  }
  return 0;
}

/** Says which of the containers that mount the volume may write to it meanwhile: the running ones, not the paused. */
async function warnOfWriters(name: string, mountedBy: string[]): Promise<void> {
  const agent = runtimeAgent();
  try {
    const { containers } = await agent.call<runtime.ListResponse>((m, o, cb) => agent.client.list({ all: false, filters: { id: { values: mountedBy }, status: { values: ['running'] } } }, m, o, cb));
    if (containers.length === 0) return;
    const ids = containers.map((container) => container.id.slice(0, 12)).join(',');
    process.stderr.write(`warning: volume ${name} is in use by running container(s) ${ids}: the export may not be consistent unless they are paused\n`);
  } finally {
    agent.close();
  }
}
