import { invalidArgument } from '../../../libs/errors';
import { imagestore } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { imageStore } from '../../client';
import { shortImageId, table, timeAgo } from '../../output';
import { humanSize } from '../../progress';

/** `berth history [--no-trunc] [-q] [--format table|json] IMAGE` */
export async function history(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      'no-trunc': { type: 'boolean', default: false, description: 'Do not truncate ids and CREATED BY' },
      quiet: { type: 'boolean', short: 'q', default: false, description: 'Only print image ids' },
      format: { type: 'string', default: 'table', value: 'FORMAT', description: 'Output format: table or json' },
    },
    'history',
  );
  if (positionals.length !== 1) throw invalidArgument('history: give one image');
  const store = imageStore();
  let entries: imagestore.HistoryEntry[];
  try {
    entries = (await store.call<imagestore.HistoryResponse>((m, o, cb) => store.client.history({ image: positionals[0]! }, m, o, cb))).entries;
  } finally {
    store.close();
  }
  if (values.format === 'json') {
    process.stdout.write(`${JSON.stringify(entries.map((e) => imagestore.HistoryEntry.toJSON(e)), null, 2)}\n`);
    return 0;
  }
  const id = (e: imagestore.HistoryEntry) => (e.id === '<missing>' || values['no-trunc'] ? e.id : shortImageId(e.id));
  if (values.quiet) {
    process.stdout.write(entries.map((e) => `${id(e)}\n`).join(''));
    return 0;
  }
  const createdBy = (text: string) => (values['no-trunc'] || text.length <= 45 ? text : `${text.slice(0, 44)}…`);
  process.stdout.write(
    table(
      ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
      entries.map((e) => [id(e), timeAgo(e.created), createdBy(e.createdBy), humanSize(e.size), e.comment]),
    ),
  );
  return 0;
}
