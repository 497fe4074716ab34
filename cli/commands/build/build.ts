import { readFile } from 'node:fs/promises';
import type { ServiceError } from '@grpc/grpc-js';
import { invalidArgument } from '../../../libs/errors';
import { fromServiceError } from '../../../libs/grpc';
import type { builder } from '../../../libs/proto';
import { keyValueMap, parseFlags } from '../../args';
import { builderService } from '../../client';
import { contextArchive, dockerfileInContext } from './context';
import { PlainProgress } from './progress';

const CONTEXT_MESSAGE_BYTES = 256 * 1024;

/**
 * `berth build [OPTIONS] PATH`: sends the context and the options, renders the progress as
 * Docker's plain output (or only the image id with -q), and exits 1 when the build fails.
 */
export async function build(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      tag: { type: 'string', short: 't', multiple: true },
      file: { type: 'string', short: 'f' },
      'build-arg': { type: 'string', multiple: true },
      target: { type: 'string' },
      'no-cache': { type: 'boolean' },
      platform: { type: 'string' },
      label: { type: 'string', multiple: true },
      network: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      progress: { type: 'string' },
    },
    'build',
  );
  if (positionals.length !== 1) throw invalidArgument('build: give the context directory (PATH)');
  const dir = positionals[0]!;
  const file = values.file;
  const inContext = file === undefined ? 'Dockerfile' : file === '-' ? undefined : dockerfileInContext(dir, file);
  const dockerfileContent = inContext !== undefined ? '' : file === '-' ? await readStdin() : await readFile(file!, 'utf8');
  const options: builder.BuildOptions = {
    dockerfile: inContext ?? '',
    dockerfileContent,
    tags: values.tag ?? [],
    buildArgs: Object.fromEntries((values['build-arg'] ?? []).map((arg) => (arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, process.env[arg] ?? '']))),
    target: values.target ?? '',
    noCache: values['no-cache'] ?? false,
    platform: values.platform ?? '',
    labels: keyValueMap(values.label),
    network: values.network ?? '',
  };
  const archive = await contextArchive(dir, inContext);
  const service = builderService();
  const progress = new PlainProgress(values.quiet ?? false);
  try {
    const call = service.client.build(service.metadata(), { deadline: Infinity });
    const sending = (async () => {
      call.write({ options, context: Buffer.alloc(0) });
      // The tar comes in pieces of a header or a small file each: sent in larger messages, they cost far less.
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        const message = { options: undefined, context: Buffer.concat(pending) };
        pending = [];
        pendingBytes = 0;
        if (!call.write(message)) await new Promise((resolve) => call.once('drain', resolve));
      };
      for await (const chunk of archive) {
        pending.push(chunk as Buffer);
        pendingBytes += (chunk as Buffer).length;
        if (pendingBytes >= CONTEXT_MESSAGE_BYTES) await flush();
      }
      await flush();
      call.end();
    })();
    try {
      for await (const response of call as AsyncIterable<builder.BuildResponse>) progress.render(response);
    } catch (err) {
      throw fromServiceError(err as ServiceError, service.endpoint);
    }
    await sending;
  } catch (err) {
    progress.failed();
    throw err;
  } finally {
    service.close();
  }
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
