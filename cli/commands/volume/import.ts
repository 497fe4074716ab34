import { createReadStream } from 'node:fs';
import { invalidArgument } from '../../../libs/errors';
import type { volume } from '../../../libs/proto';
import { sendArchive } from '../../archive';
import { keyValueMap, parseFlags } from '../../args';
import { volumeService } from '../../client';

/**
 * `berth volume import [-l k=v]... [-o k=v]... VOLUME [FILE|-]`: fills a new (or empty) volume from a
 * tar, read from standard input without FILE; prints the volume's name.
 */
export async function importVolume(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      label: { type: 'string', short: 'l', multiple: true, value: 'KEY=VALUE', description: 'Set a label on the volume, when it is made' },
      opt: { type: 'string', short: 'o', multiple: true, value: 'KEY=VALUE', description: 'Set a local driver option of the volume, when it is made: type, device or o' },
    },
    'volume import',
  );
  if (positionals.length < 1 || positionals.length > 2) throw invalidArgument('volume import: give the volume and, optionally, FILE (or - for standard input)');
  const [name, file = '-'] = positionals as [string, string?];
  if (file === '-' && process.stdin.isTTY) throw invalidArgument('volume import: give the tar as FILE or on standard input');
  const service = volumeService();
  let response: volume.ImportResponse;
  try {
    response = await sendArchive<volume.ImportRequest, volume.ImportResponse>(
      service.endpoint,
      { stream: file === '-' ? process.stdin : createReadStream(file), name: file === '-' ? 'standard input' : file },
      (callback) => service.client.import(service.metadata(), { deadline: Infinity }, callback),
      (data) => ({ volume: undefined, data }),
      { volume: { name, driver: '', labels: keyValueMap(values.label), options: keyValueMap(values.opt), anonymous: false }, data: Buffer.alloc(0) },
    );
  } finally {
    service.close();
  }
  process.stdout.write(`${response.volume!.name}\n`);
  return 0;
}
