import { createReadStream } from 'node:fs';
import { invalidArgument } from '../../../libs/errors';
import type { imagestore } from '../../../libs/proto';
import { sendArchive } from '../../archive';
import { parseFlags } from '../../args';
import { imageStore } from '../../client';

/** `berth import [-c CHANGE]... [-m MESSAGE] [--platform P] FILE|- [REPOSITORY[:TAG]]`: prints the image id. */
export async function importTarball(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      change: { type: 'string', short: 'c', multiple: true, value: 'INSTRUCTION', description: 'Apply a Dockerfile instruction to the image: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR' },
      message: { type: 'string', short: 'm', default: '', value: 'MESSAGE', description: "Commit message, kept as the comment in the image's history" },
      platform: { type: 'string', default: '', value: 'OS/ARCH[/VARIANT]', description: "Platform to record in the image, e.g. linux/arm64 (default this host's)" },
    },
    'import',
  );
  if (positionals.length < 1 || positionals.length > 2) throw invalidArgument('import: give FILE (or - for standard input) and optionally REPOSITORY[:TAG]');
  if (/^https?:\/\//.test(positionals[0]!)) throw invalidArgument('import: importing from a URL is not supported; download the file first');
  const source = positionals[0] === '-' ? process.stdin : createReadStream(positionals[0]!);
  const store = imageStore();
  let response: imagestore.ImportResponse;
  try {
    response = await sendArchive<imagestore.ImportRequest, imagestore.ImportResponse>(
      store.endpoint,
      { stream: source, name: positionals[0]! },
      (callback) => store.client.import(store.metadata(), { deadline: Infinity }, callback),
      (data) => ({ options: undefined, data }),
      { options: { reference: positionals[1] ?? '', changes: values.change ?? [], message: values.message, platform: values.platform }, data: Buffer.alloc(0) },
    );
  } finally {
    store.close();
  }
  process.stdout.write(`${response.image!.id}\n`);
  return 0;
}
