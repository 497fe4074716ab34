import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { BerthError } from '../../../libs/errors';
import { fromServiceError, handlers, serve, type CallContext } from '../../../libs/grpc';
import { descriptorSetPath, volume } from '../../../libs/proto';
import { SERVICE_INFO, capturingLogger, signal, temporaryDirectory } from './fixture';

/** A server-streaming method made of VolumeService's messages: the API has none small enough to test with. */
const WATCH = {
  path: '/berth.test.v1.StreamService/Watch',
  requestStream: false,
  responseStream: true,
  requestSerialize: (value: volume.InfoRequest) => Buffer.from(volume.InfoRequest.encode(value).finish()),
  requestDeserialize: (value: Buffer) => volume.InfoRequest.decode(value),
  responseSerialize: (value: volume.InfoResponse) => Buffer.from(volume.InfoResponse.encode(value).finish()),
  responseDeserialize: (value: Buffer) => volume.InfoResponse.decode(value),
} as const;

type WatchHandler = (request: volume.InfoRequest, send: (message: volume.InfoResponse) => Promise<void>, context: CallContext) => Promise<void>;

async function startStreamServer(t: TestContext, watch: WatchHandler): Promise<{ target: string }> {
  const target = `unix://${temporaryDirectory(t)}/stream.sock`;
  const { logger } = capturingLogger();
  const server = await serve({
    service: 'stream-test',
    addresses: [target],
    services: [{ name: 'berth.test.v1.StreamService', definition: { watch: WATCH }, implementation: { watch: handlers(logger).serverStream(watch) } }],
    descriptorSetPath: descriptorSetPath(),
    logger,
  });
  t.after(() => server.shutdown(100));
  return { target };
}

function watch(t: TestContext, target: string) {
  const client = new Client(target, credentials.createInsecure());
  t.after(() => client.close());
  return client.makeServerStreamRequest(WATCH.path, WATCH.requestSerialize, WATCH.responseDeserialize, {}, { deadline: Date.now() + 5_000 });
}

/** Reads a stream to its end: the messages, and the error it ended with, if any. */
function readAll(stream: ReturnType<typeof watch>): Promise<{ messages: volume.InfoResponse[]; error?: ServiceError }> {
  const messages: volume.InfoResponse[] = [];
  return new Promise((resolve) => {
    stream.on('data', (message: volume.InfoResponse) => messages.push(message));
    stream.on('error', (error: ServiceError) => resolve({ messages, error }));
    stream.on('end', () => resolve({ messages }));
  });
}

const numbered = (n: number): volume.InfoResponse => ({ info: { ...SERVICE_INFO.info!, node: `node-${n}` } });

test('a server stream sends its messages in order and ends', async (t) => {
  const { target } = await startStreamServer(t, async (_, send) => {
    for (let n = 0; n < 3; n++) await send(numbered(n));
  });
  const { messages, error } = await readAll(watch(t, target));
  assert.equal(error, undefined);
  assert.deepEqual(messages.map((m) => m.info?.node), ['node-0', 'node-1', 'node-2']);
});

test('a server stream that fails ends with the status of its error, after what it sent', async (t) => {
  const { target } = await startStreamServer(t, async (_, send) => {
    await send(numbered(0));
    throw new BerthError('resource_exhausted', 'the volume is full');
  });
  const { messages, error } = await readAll(watch(t, target));
  assert.equal(messages.length, 1);
  assert.equal(error?.code, status.RESOURCE_EXHAUSTED);
  const mapped = fromServiceError(error);
  assert.equal(mapped.kind, 'resource_exhausted');
  assert.equal(mapped.message, 'the volume is full');
});

test('a server stream that throws before its first await still ends with its status', async (t) => {
  const { target } = await startStreamServer(t, () => {
    throw new BerthError('invalid_argument', 'no such filter');
  });
  const { error } = await readAll(watch(t, target));
  assert.equal(error?.code, status.INVALID_ARGUMENT);
  assert.equal(error.details, 'no such filter');
});

test('when the client cancels a stream, the handler is told and a send() waiting for room does not hang', async (t) => {
  const stopped = signal<string>();
  const { target } = await startStreamServer(t, async (_, send, context) => {
    // Large messages fill the transport's buffers, so send() soon waits for the client to read.
    const big: volume.InfoResponse = { info: { ...SERVICE_INFO.info!, stateRoot: 'x'.repeat(256 * 1024) } };
    try {
      while (!context.signal.aborted) await send(big);
      stopped.resolve('stopped at the signal');
    } catch (err) {
      stopped.resolve(`send failed: ${(err as Error).message}`);
      throw err;
    }
  });
  const stream = watch(t, target);
  stream.on('error', () => undefined);
  const first = signal();
  stream.once('data', () => {
    // Stop reading: the server's buffers fill up and its next send() waits.
    stream.pause();
    first.resolve();
  });
  await first.promise;
  await new Promise((resolve) => setTimeout(resolve, 200));
  stream.cancel();
  const outcome = await Promise.race([stopped.promise, new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 2_000))]);
  assert.match(outcome, /^send failed: the client cancelled the call$|^stopped at the signal$/, 'the handler ended after the cancel');
});
