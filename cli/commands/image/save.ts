import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ServiceError } from '@grpc/grpc-js';
import { invalidArgument } from '../../../libs/errors';
import { fromServiceError } from '../../../libs/grpc';
import type { imagestore } from '../../../libs/proto';
import { familiarName } from '../../../libs/reference';
import { sendArchive } from '../../archive';
import { parseFlags } from '../../args';
import { imageStore } from '../../client';

/** `berth save [-o FILE] IMAGE...`: a tar that `docker load`, skopeo and `berth load` read. */
export async function save(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { output: { type: 'string', short: 'o', value: 'FILE', description: 'Write the archive to a file instead of STDOUT' } }, 'save');
  if (positionals.length === 0) throw invalidArgument('save: give at least one image');
  if (values.output === undefined && process.stdout.isTTY) throw invalidArgument('save: refusing to write an archive to a terminal: use -o FILE or redirect');
  // Written beside its destination and renamed at the end: a failed save leaves no half archive.
  const temporary = values.output === undefined ? undefined : `${values.output}.${process.pid}.partial`;
  const destination: Writable = temporary === undefined ? process.stdout : createWriteStream(temporary, { mode: 0o644 });
  const store = imageStore();
  try {
    const stream = store.client.save({ images: positionals }, store.metadata(), { deadline: Infinity });
    await pipeline(
      stream,
      async function* (messages: AsyncIterable<imagestore.SaveResponse>) {
        for await (const message of messages) yield message.data;
      },
      destination,
    ).catch((err: ServiceError) => {
      throw fromServiceError(err, store.endpoint);
    });
    if (temporary !== undefined) renameSync(temporary, values.output!);
  } finally {
    if (temporary !== undefined) rmSync(temporary, { force: true });
    store.close();
  }
  return 0;
}

/** `berth load [-i FILE] [-q]` */
export async function load(args: string[]): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      input: { type: 'string', short: 'i', value: 'FILE', description: 'Read the archive from a file instead of STDIN' },
      quiet: { type: 'boolean', short: 'q', default: false, description: 'Do not print the loaded images' },
    },
    'load',
  );
  if (values.input === undefined && process.stdin.isTTY) throw invalidArgument('load: give the archive with -i FILE or on standard input');
  const source = values.input === undefined ? process.stdin : createReadStream(values.input);
  const store = imageStore();
  let response: imagestore.LoadResponse;
  try {
    response = await sendArchive<imagestore.LoadRequest, imagestore.LoadResponse>(
      store.endpoint,
      { stream: source, name: values.input ?? 'standard input' },
      (callback) => store.client.load(store.metadata(), { deadline: Infinity }, callback),
      (data) => ({ data }),
    );
  } finally {
    store.close();
  }
  if (!values.quiet) {
    for (const name of response.names) process.stdout.write(`Loaded image: ${familiarName(name)}\n`);
    for (const image of response.images.filter((i) => i.repoTags.length === 0)) process.stdout.write(`Loaded image ID: ${image.id}\n`);
  }
  return 0;
}
