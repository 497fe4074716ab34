import { invalidArgument } from '../../../libs/errors';
import type { volume } from '../../../libs/proto';
import { keyValueMap, parseFlags } from '../../args';
import { volumeService } from '../../client';

/** `berth volume clone [-l k=v]... SOURCE TARGET`: a new volume holding a copy of another's content; prints TARGET. */
export async function cloneVolume(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { label: { type: 'string', short: 'l', multiple: true, value: 'KEY=VALUE', description: 'Set a label on the new volume' } }, 'volume clone');
  if (positionals.length !== 2) throw invalidArgument('volume clone: give the source volume and the name of the new one');
  const [source, target] = positionals as [string, string];
  const service = volumeService();
  try {
    // Copying takes as long as there is data: no deadline.
    const response = await service.call<volume.CloneResponse>((m, o, cb) =>
      service.client.clone(
        { source, target: { name: target, driver: '', labels: keyValueMap(values.label), options: {}, anonymous: false } },
        m,
        { ...o, deadline: Infinity },
        cb,
      ),
    );
    process.stdout.write(`${response.volume!.name}\n`);
  } finally {
    service.close();
  }
  return 0;
}
