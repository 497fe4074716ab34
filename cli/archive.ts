import type { ClientReadableStream, ClientWritableStream, ServiceError } from '@grpc/grpc-js';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { invalidArgument } from '../libs/errors';
import { fromServiceError } from '../libs/grpc';

/** Where a command writes a tar: FILE (-o), else standard output, but never a terminal. */
export function archiveOutput(file: string | undefined, command: string): Writable {
  if (file === undefined && process.stdout.isTTY) throw invalidArgument(`${command}: refusing to write a tar to a terminal; use -o FILE or a pipe`);
  return file === undefined ? process.stdout : createWriteStream(file, { mode: 0o644 });
}

/** Writes a streamed tar to out, at the pace out takes it; onMessage sees each message (for what else it carries). */
export async function readArchive<M extends { data: Uint8Array }>(stream: ClientReadableStream<M>, endpoint: string, out: Writable, onMessage?: (message: M) => void): Promise<void> {
  try {
    for await (const message of stream) {
      onMessage?.(message as M);
      if (!out.write((message as M).data)) await once(out, 'drain');
    }
  } catch (err) {
    throw fromServiceError(err as ServiceError, endpoint);
  }
  if (out !== process.stdout) await new Promise<void>((resolveEnd) => out.end(resolveEnd));
}

/**
 * Sends source to a client-streaming call (opened by open), first the opening message if given,
 * then one message per chunk read, at the pace the call takes them; resolves with the response.
 */
export function sendArchive<Req, Res>(
  endpoint: string,
  source: { stream: Readable; name: string },
  open: (callback: (err: ServiceError | null, response?: Res) => void) => ClientWritableStream<Req>,
  message: (data: Buffer) => Req,
  opening?: Req,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const call = open((err, response) => (err ? reject(fromServiceError(err, endpoint)) : resolve(response!)));
    if (opening !== undefined) call.write(opening);
    source.stream.on('data', (chunk: Buffer) => {
      if (!call.write(message(chunk))) {
        source.stream.pause();
        call.once('drain', () => source.stream.resume());
      }
    });
    source.stream.once('end', () => call.end());
    source.stream.once('error', (err: Error) => {
      call.cancel();
      reject(invalidArgument(`cannot read ${source.name}: ${err.message}`));
    });
  });
}
