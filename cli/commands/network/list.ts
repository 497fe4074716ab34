import type { network } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { networkService } from '../../client';
import { parseFilters, table } from '../../output';
import { renderTemplate } from '../../template';

/** `berth network ls [-q] [--no-trunc] [--filter name|id|driver|label|type=V]... [--format table|json|TEMPLATE]` */
export async function listNetworks(args: string[]): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      quiet: { type: 'boolean', short: 'q', default: false, description: 'Only print network ids' },
      'no-trunc': { type: 'boolean', default: false, description: 'Do not truncate network ids' },
      filter: { type: 'string', short: 'f', multiple: true, value: 'KEY=VALUE', description: 'Filter by name (a substring), id (a prefix), driver, label or type=builtin|custom' },
      format: { type: 'string', default: 'table', value: 'FORMAT', description: 'Output format: table, json (one object a line) or a Go template such as {{.Name}}' },
    },
    'network ls',
  );
  const service = networkService();
  let networks: network.Network[];
  try {
    networks = (await service.call<network.ListNetworksResponse>((m, o, cb) => service.client.listNetworks({ filters: parseFilters(values.filter) }, m, o, cb))).networks;
  } finally {
    service.close();
  }
  const id = (n: network.Network) => (values['no-trunc'] ? n.id : n.id.slice(0, 12));
  if (values.quiet) {
    process.stdout.write(networks.map((n) => `${id(n)}\n`).join(''));
    return 0;
  }
  if (values.format === 'json') {
    process.stdout.write(networks.map((n) => `${JSON.stringify(dockerFields(n, id(n)))}\n`).join(''));
    return 0;
  }
  if (values.format !== 'table') {
    process.stdout.write(networks.map((n) => `${renderTemplate(values.format, dockerFields(n, id(n)))}\n`).join(''));
    return 0;
  }
  process.stdout.write(table(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], networks.map((n) => [id(n), n.name, n.driver, n.scope])));
  return 0;
}

/** The fields `docker network ls --format` knows; Docker gives its booleans as strings here. */
function dockerFields(n: network.Network, id: string) {
  return {
    CreatedAt: n.created?.toISOString(),
    Driver: n.driver,
    ID: id,
    IPv6: 'false',
    Internal: String(n.internal),
    Labels: Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(','),
    Name: n.name,
    Scope: n.scope,
  };
}
