import { invalidArgument } from '../../../libs/errors';
import type { volume } from '../../../libs/proto';
import { keyValueMap, parseFlags } from '../../args';
import { volumeService } from '../../client';

/** `berth volume create [-d local] [-l k=v]... [-o k=v]... [--name NAME | NAME]`: prints the volume's name. */
export async function createVolume(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      driver: { type: 'string', short: 'd', default: 'local' },
      label: { type: 'string', short: 'l', multiple: true },
      opt: { type: 'string', short: 'o', multiple: true },
      name: { type: 'string' },
    },
    'volume create',
  );
  if (positionals.length > 1) throw invalidArgument('volume create: give at most one name');
  if (values.name !== undefined && positionals[0] !== undefined && values.name !== positionals[0]) {
    throw invalidArgument('volume create: conflicting options: either specify --name or provide positional arg, not both');
  }
  const service = volumeService();
  try {
    const response = await service.call<volume.CreateResponse>((m, o, cb) =>
      service.client.create(
        { name: values.name ?? positionals[0] ?? '', driver: values.driver, labels: keyValueMap(values.label), options: keyValueMap(values.opt), anonymous: false },
        m,
        o,
        cb,
      ),
    );
    process.stdout.write(`${response.volume!.name}\n`);
  } finally {
    service.close();
  }
  return 0;
}
