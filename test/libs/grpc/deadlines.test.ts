import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { isBerthError } from '../../../libs/errors';
import { createClient } from '../../../libs/grpc';
import { volume } from '../../../libs/proto';
import { eventually } from '../../support';
import { callInfo, signal, startVolumeServer, type InfoHandler } from './fixture';

interface Abort {
  /** Milliseconds from the handler's start to its signal's abort. */
  afterMs: number;
  reason: string;
}

/** An Info handler that never answers, and reports when and why its signal is aborted. */
function neverAnswering(): { handler: InfoHandler; entered: Promise<void>; aborted: Promise<Abort> } {
  const entered = signal();
  const aborted = signal<Abort>();
  const handler: InfoHandler = (_, context) => {
    const started = performance.now();
    entered.resolve();
    context.signal.addEventListener('abort', () =>
      aborted.resolve({ afterMs: performance.now() - started, reason: String((context.signal.reason as Error).message) }),
    );
    return new Promise(() => undefined);
  };
  return { handler, entered: entered.promise, aborted: aborted.promise };
}

test("createClient's deadline ends a call to a handler that never answers, and aborts the handler's signal", async (t) => {
  const { handler, aborted } = neverAnswering();
  const { target } = await startVolumeServer(t, handler);
  const started = performance.now();
  await assert.rejects(callInfo(target, { deadlineMs: 200 }), (err: unknown) => {
    assert.ok(isBerthError(err, 'deadline_exceeded'), String(err));
    assert.equal((err.cause as ServiceError).code, status.DEADLINE_EXCEEDED);
    assert.match(err.message, /^no answer in time from unix:\/\//);
    return true;
  });
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 190 && elapsed < 1_000, `the call ended after ${Math.round(elapsed)} ms`);
  const abort = await aborted;
  assert.ok(abort.afterMs < 1_000, `the handler was told after ${Math.round(abort.afterMs)} ms`);
  assert.match(abort.reason, /deadline|cancelled/);
});

test('a deadline of the call itself wins over the default', async (t) => {
  const { handler } = neverAnswering();
  const { target } = await startVolumeServer(t, handler);
  const client = createClient(volume.VolumeServiceClient, target, { deadlineMs: 10_000 });
  t.after(() => client.close());
  const started = performance.now();
  const err = await new Promise<ServiceError | null>((resolve) =>
    client.info({}, new Metadata(), { deadline: Date.now() + 150 }, (e) => resolve(e)),
  );
  assert.equal(err?.code, status.DEADLINE_EXCEEDED);
  assert.ok(performance.now() - started < 1_000);
});

test("a client's cancel aborts the handler's signal", async (t) => {
  const { handler, entered, aborted } = neverAnswering();
  const { target } = await startVolumeServer(t, handler);
  const client = createClient(volume.VolumeServiceClient, target, { deadlineMs: 10_000 });
  t.after(() => client.close());
  const ended = signal<ServiceError | null>();
  const call = client.info({}, (err) => ended.resolve(err));
  await entered;
  call.cancel();
  assert.equal((await ended.promise)?.code, status.CANCELLED);
  const abort = await aborted;
  assert.ok(abort.afterMs < 1_000);
  assert.equal(abort.reason, 'the client cancelled the call');
});

test("a handler that rethrows its signal's reason is logged as a cancelled call, not as a bug", async (t) => {
  const entered = signal();
  const { target, logs } = await startVolumeServer(t, (_, context) => {
    entered.resolve();
    return new Promise((_, reject) => context.signal.addEventListener('abort', () => reject(context.signal.reason)));
  });
  const client = createClient(volume.VolumeServiceClient, target, { deadlineMs: 10_000 });
  t.after(() => client.close());
  const call = client.info({}, () => undefined);
  await entered.promise;
  call.cancel();
  const line = await eventually(() => logs().find((l) => l.rpc === '/berth.volume.v1.VolumeService/Info'), 2_000, 'the call to be logged');
  assert.equal(line.level, 'info');
  assert.equal(line.code, status.CANCELLED);
  assert.equal(line.error, 'the client cancelled the call');
});
