import type { ClientWritableStream, ServiceError } from '@grpc/grpc-js';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { compressionOf } from '../../../libs/archive';
import { invalidArgument, messageOf } from '../../../libs/errors';
import { fromServiceError, inMessages, peekFirst } from '../../../libs/grpc';
import { API_VERSION } from './router';

/**
 * Aborted when the client goes away before its response ended: a stream read from a service for it
 * (logs that follow, stats, a tar) is cancelled rather than read on for nobody.
 */
export function clientGone(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  response.once('close', () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
}

/**
 * A tar read from a service as the response's body, at the pace the client takes it. The first
 * message is read before the headers go, so that a call that fails at once (no such container) is
 * still answered with its status and Docker's error body.
 */
export async function sendTar(response: ServerResponse, messages: AsyncIterable<{ data: Uint8Array }>, headers: Record<string, string> = {}): Promise<void> {
  const { messages: all } = await peekFirst(messages);
  response.writeHead(200, { 'Content-Type': 'application/x-tar', 'Api-Version': API_VERSION, ...headers });
  await pipeline(Readable.from(bytesOf(all)), response);
}

async function* bytesOf(messages: AsyncIterable<{ data: Uint8Array }>): AsyncGenerator<Uint8Array> {
  for await (const message of messages) yield message.data;
}

/**
 * A request body that is a tar, as Docker takes them (build contexts, image archives, docker cp):
 * plain or gzip-compressed; bzip2 and xz, which Docker also reads, are refused by name.
 */
export async function* tarBody(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const { first, messages } = await peekFirst(body);
  if (first === undefined) return;
  const compression = compressionOf(first);
  if (compression === 'gzip') {
    const gunzip = createGunzip();
    const feeding = pipeline(Readable.from(messages), gunzip);
    yield* completed(gunzip);
    await feeding;
    return;
  }
  if (compression !== undefined) throw invalidArgument(`a tar compressed with ${compression} is not supported by Berth: send it plain or gzip-compressed`);
  yield* completed(messages);
}

/**
 * The tar with its last block filled and the end-of-archive blocks after it. Docker's client sends
 * a build context with a Dockerfile from standard input (`-f -`) without them, which Docker's own
 * reader takes; after a complete tar they are only more zero blocks, which readers skip.
 */
async function* completed(tar: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let length = 0;
  for await (const chunk of tar) {
    length += chunk.length;
    yield chunk;
  }
  yield Buffer.alloc((512 - (length % 512)) % 512 + 1024);
}

/** What writeAll needs of a call it streams bytes to: a client stream or the sending half of a duplex one. */
interface SendingCall<Req> {
  write(message: Req): boolean;
  end(): void;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Writes bytes to a call in messages of gRPC's usual size, waiting for room as it goes, then ends
 * it; the first message is written even for no bytes (it may name what the bytes are for). Gives
 * up as soon as `settled` does: a call answered early (a failure) takes nothing more.
 */
export async function writeAll<Req>(call: SendingCall<Req>, data: AsyncIterable<Uint8Array>, message: (data: Buffer, first: boolean) => Req, settled: Promise<unknown>): Promise<void> {
  let over = false;
  const overNow = () => (over = true);
  settled.then(overNow, overNow);
  let first = true;
  for await (const chunk of inMessages(data)) {
    if (over) return;
    const room = call.write(message(chunk, first));
    first = false;
    if (!room) await Promise.race([once(call as unknown as NodeJS.EventEmitter, 'drain'), settled.catch(() => undefined)]);
  }
  if (over) return;
  if (first) call.write(message(Buffer.alloc(0), true));
  call.end();
}

/** A client-streaming call (Load, CopyTo) fed with data; its response, or its error as a BerthError. */
export async function upload<Req, Res>(
  endpoint: string,
  open: (callback: (err: ServiceError | null, response?: Res) => void) => ClientWritableStream<Req>,
  data: AsyncIterable<Uint8Array>,
  message: (data: Buffer, first: boolean) => Req,
): Promise<Res> {
  let call!: ClientWritableStream<Req>;
  const answered = new Promise<Res>((resolve, reject) => {
    call = open((err, response) => (err ? reject(fromServiceError(err, endpoint)) : resolve(response!)));
  });
  try {
    await writeAll(call, data, message, answered);
  } catch (err) {
    // The body could not be read (the client went away, a bad compression): nothing is half-done.
    call.cancel();
    answered.catch(() => undefined);
    throw err;
  }
  return answered;
}

/**
 * A 200 whose body is Docker's JSON messages, a line each, written by work as it goes. A failure
 * after the start is the stream's last message, as Docker's: its clients print it and fail.
 */
export async function sendJsonMessages(response: ServerResponse, work: (write: (message: Record<string, unknown>) => void) => Promise<void>): Promise<void> {
  response.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION });
  response.flushHeaders();
  const write = (message: Record<string, unknown>) => response.write(`${JSON.stringify(message)}\n`);
  try {
    await work(write);
  } catch (err) {
    write({ errorDetail: { message: messageOf(err) }, error: messageOf(err) });
  }
  response.end();
}
