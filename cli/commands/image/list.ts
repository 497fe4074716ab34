import { parseFlags } from '../../args';
import { imageStore } from '../../client';
import { parseFilters, shortImageId, table, timeAgo } from '../../output';
import { humanSize } from '../../progress';
import { familiarName } from '../../../libs/reference';
import { imagestore } from '../../../libs/proto';
import { invalidArgument } from '../../../libs/errors';

/** `berth images [-a] [-q] [--digests] [--no-trunc] [--filter k=v]... [--format table|json] [REPOSITORY[:TAG]]` */
export async function images(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      all: { type: 'boolean', short: 'a', default: false, description: 'Show all images (default hides untagged intermediate and build cache images)' },
      quiet: { type: 'boolean', short: 'q', default: false, description: 'Only print image ids' },
      digests: { type: 'boolean', default: false, description: 'Show digests' },
      'no-trunc': { type: 'boolean', default: false, description: 'Do not truncate image ids' },
      filter: { type: 'string', short: 'f', multiple: true, value: 'KEY=VALUE', description: 'Filter by reference (a glob), dangling=true|false, label, before or since (an image)' },
      format: { type: 'string', default: 'table', value: 'FORMAT', description: 'Output format: table or json' },
    },
    'images',
  );
  if (values.format !== 'table' && values.format !== 'json') throw invalidArgument(`--format must be table or json, not "${values.format}"`);
  const filters = parseFilters(values.filter);
  if (positionals.length > 1) throw invalidArgument('images: give at most one REPOSITORY[:TAG]');
  if (positionals[0] !== undefined) (filters.reference ??= { values: [] }).values.push(positionals[0]);

  const store = imageStore();
  let list: imagestore.ImageSummary[];
  try {
    list = (await store.call<imagestore.ListResponse>((m, o, cb) => store.client.list({ filters, all: values.all }, m, o, cb))).images;
  } finally {
    store.close();
  }

  if (values.format === 'json') {
    process.stdout.write(`${JSON.stringify(list.map((image) => imagestore.ImageSummary.toJSON(image)), null, 2)}\n`);
    return 0;
  }
  const id = (image: imagestore.ImageSummary) => (values['no-trunc'] ? image.id : shortImageId(image.id));
  if (values.quiet) {
    process.stdout.write([...new Set(list.map(id))].map((line) => `${line}\n`).join(''));
    return 0;
  }
  const rows: string[][] = [];
  for (const image of list) {
    const names = image.repoTags.length > 0 ? image.repoTags : ['<none>:<none>'];
    for (const name of names) {
      const familiar = familiarName(name);
      const colon = familiar.lastIndexOf(':');
      const repository = familiar.slice(0, colon);
      const digest = image.repoDigests.find((d) => d.startsWith(`${name.slice(0, name.lastIndexOf(':'))}@`))?.split('@')[1] ?? '<none>';
      rows.push([
        repository,
        familiar.slice(colon + 1),
        ...(values.digests ? [digest] : []),
        id(image),
        timeAgo(image.created),
        humanSize(image.size),
      ]);
    }
  }
  process.stdout.write(table(['REPOSITORY', 'TAG', ...(values.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'], rows));
  return 0;
}
