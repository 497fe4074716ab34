import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { invalidArgument } from '../../../libs/errors';
import { fromServiceError, inMessages } from '../../../libs/grpc';
import type { builder } from '../../../libs/proto';
import { keyValueMap, parseFlags } from '../../args';
import { builderService } from '../../client';
import { dockerfileInContext, readContext } from './context';
import { PlainProgress } from './progress';

/** Manifest entries per message: a large context's manifest stays well within gRPC's 4 MB message limit. */
const MANIFEST_MESSAGE_ENTRIES = 10_000;

/**
 * `berth build [OPTIONS] PATH`: sends the options and the context's manifest, then the files the
 * builder asks for (those that changed since it last received this directory); renders the progress
 * as Docker's plain output (or only the image id with -q), and exits 1 when the build fails.
 */
export async function build(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      tag: { type: 'string', short: 't', multiple: true, value: 'NAME[:TAG]', description: 'Name the image' },
      file: { type: 'string', short: 'f', value: 'FILE', description: 'Path of the Dockerfile from the current directory, or - for STDIN (default PATH/Dockerfile)' },
      'build-arg': { type: 'string', multiple: true, value: 'KEY[=VALUE]', description: 'Set a build-time variable; a bare KEY takes its value from this environment' },
      target: { type: 'string', value: 'STAGE', description: 'Stage to build (default the last)' },
      'no-cache': { type: 'boolean', description: 'Do not use the build cache' },
      platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', description: "Platform of the base images, for FROM lines without --platform (default this host's)" },
      label: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'Set a label on the image' },
      network: { type: 'string', value: 'MODE', description: 'Network of the RUN steps: default (the bridge), none or host' },
      quiet: { type: 'boolean', short: 'q', description: 'Print only the image id when done' },
      progress: { type: 'string', value: 'TYPE', description: "Progress output type; accepted for Docker's scripts, the output is always plain" },
    },
    'build',
  );
  if (positionals.length !== 1) throw invalidArgument('build: give the context directory (PATH)');
  const dir = positionals[0]!;
  const file = values.file;
  const inContext = file === undefined ? 'Dockerfile' : file === '-' ? undefined : dockerfileInContext(dir, file);
  const dockerfileContent = inContext !== undefined ? '' : file === '-' ? await readStdin() : await readFile(file!, 'utf8');
  const context = await readContext(dir, inContext);
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
    contextKey: context.key,
  };
  const service = builderService();
  const progress = new PlainProgress(values.quiet ?? false);
  try {
    const call = service.client.build(service.metadata(), { deadline: Infinity });
    call.write({ options, context: Buffer.alloc(0), manifest: undefined });
    for (let start = 0; start === 0 || start < context.manifest.length; start += MANIFEST_MESSAGE_ENTRIES) {
      const entries = context.manifest.slice(start, start + MANIFEST_MESSAGE_ENTRIES);
      call.write({ options: undefined, context: Buffer.alloc(0), manifest: { entries, complete: start + MANIFEST_MESSAGE_ENTRIES >= context.manifest.length } });
    }
    let sending: Promise<void> = Promise.resolve();
    try {
      for await (const response of call as AsyncIterable<builder.BuildResponse>) {
        if (response.event?.$case === 'contextRequest') sending = sendArchive(call, context.archive(response.event.value.paths));
        else progress.render(response);
      }
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

/** The tar, then the end of the stream. */
async function sendArchive(call: ClientDuplexStream<builder.BuildRequest, builder.BuildResponse>, archive: Readable): Promise<void> {
  for await (const context of inMessages(archive)) {
    if (!call.write({ options: undefined, context, manifest: undefined })) await new Promise((resolve) => call.once('drain', resolve));
  }
  call.end();
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
