import { invalidArgument } from '../../../libs/errors';
import type { network } from '../../../libs/proto';
import { keyValueMap, parseFlags } from '../../args';
import { networkService } from '../../client';

/** `berth network create [-d bridge] [--subnet CIDR] [--gateway IP] [--internal] [--label k=v]... NAME`: prints the id. */
export async function createNetwork(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      driver: { type: 'string', short: 'd', default: 'bridge', value: 'DRIVER', description: 'Network driver; only bridge is supported' },
      subnet: { type: 'string', default: '', value: 'CIDR', description: 'IPv4 subnet of the network, e.g. 172.30.0.0/24 (default a free /24 of the pool)' },
      gateway: { type: 'string', default: '', value: 'IP', description: 'Gateway address in the subnet (default its first host address)' },
      internal: { type: 'boolean', default: false, description: 'Give the network no route to the outside world' },
      label: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'Set a label on the network' },
    },
    'network create',
  );
  if (positionals.length !== 1) throw invalidArgument('network create: give one name');
  const service = networkService();
  try {
    const response = await service.call<network.CreateNetworkResponse>((m, o, cb) =>
      service.client.createNetwork(
        { name: positionals[0]!, driver: values.driver, subnet: values.subnet, gateway: values.gateway, internal: values.internal, labels: keyValueMap(values.label) },
        m,
        o,
        cb,
      ),
    );
    process.stdout.write(`${response.id}\n`);
  } finally {
    service.close();
  }
  return 0;
}
