import type { volume } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { volumeService } from '../../client';
import { parseFilters, table } from '../../output';
import { humanSize } from '../../progress';
import { renderTemplate } from '../../template';

/** `berth volume ls [-q] [--filter name|label|dangling|driver=V]... [--format table|json|TEMPLATE]` */
export async function listVolumes(args: string[]): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      quiet: { type: 'boolean', short: 'q', default: false, description: 'Only print volume names' },
      filter: { type: 'string', short: 'f', multiple: true, value: 'KEY=VALUE', description: 'Filter by name (a substring), label, label!, dangling=true|false or driver' },
      format: { type: 'string', default: 'table', value: 'FORMAT', description: 'Output format: table, json (one object a line) or a Go template such as {{.Name}}' },
    },
    'volume ls',
  );
  const service = volumeService();
  let volumes: volume.Volume[];
  try {
    volumes = (await service.call<volume.ListResponse>((m, o, cb) => service.client.list({ filters: parseFilters(values.filter) }, m, o, cb))).volumes;
  } finally {
    service.close();
  }
  if (values.quiet) {
    process.stdout.write(volumes.map((v) => `${v.name}\n`).join(''));
    return 0;
  }
  if (values.format === 'json') {
    process.stdout.write(volumes.map((v) => `${JSON.stringify(dockerFields(v))}\n`).join(''));
    return 0;
  }
  if (values.format !== 'table') {
    process.stdout.write(volumes.map((v) => `${renderTemplate(values.format, dockerFields(v))}\n`).join(''));
    return 0;
  }
  process.stdout.write(table(['DRIVER', 'VOLUME NAME'], volumes.map((v) => [v.driver, v.name])));
  return 0;
}

/** The fields `docker volume ls --format` knows. */
function dockerFields(v: volume.Volume) {
  return {
    Driver: v.driver,
    Labels: Object.entries(v.labels).map(([k, value]) => `${k}=${value}`).join(','),
    Links: String(v.users.length),
    Mountpoint: v.mountpoint,
    Name: v.name,
    Scope: v.scope,
    // The list does not measure sizes (size_bytes -1); Docker says N/A then too.
    Size: v.sizeBytes < 0 ? 'N/A' : humanSize(v.sizeBytes),
  };
}
