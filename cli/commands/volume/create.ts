import { invalidArgument } from '../../../libs/errors';
import type { volume } from '../../../libs/proto';
import { keyValueMap, parseFlags } from '../../args';
import { volumeService } from '../../client';

/** `berth volume create [-d local] [-l k=v]... [-o k=v]... [--name NAME | NAME]`: prints the volume's name. */
export async function createVolume(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      driver: { type: 'string', short: 'd', default: 'local', value: 'DRIVER', description: 'Volume driver; only local is supported' },
      label: { type: 'string', short: 'l', multiple: true, value: 'KEY=VALUE', description: 'Set a label on the volume' },
      opt: { type: 'string', short: 'o', multiple: true, value: 'KEY=VALUE', description: 'Set a local driver option: type, device or o, as mount(8) takes them' },
      name: { type: 'string', value: 'NAME', description: 'Name of the volume, as the NAME argument (default a random one)' },
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
