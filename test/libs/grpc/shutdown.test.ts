import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { isBerthError } from '../../../libs/errors';
import { checkHealth, createClient } from '../../../libs/grpc';
import { unixSocketPath } from '../../../libs/grpc/socket';
import { health } from '../../../libs/proto';
import { SERVICE_INFO, answerAtOnce, callInfo, signal, startVolumeServer } from './fixture';

test('shutdown lets a call in flight finish, refuses new calls, and resolves once drained', async (t) => {
  const entered = signal();
  const release = signal();
  const { server, target } = await startVolumeServer(t, async () => {
    entered.resolve();
    await release.promise;
    return SERVICE_INFO;
  });
  const inFlight = callInfo(target);
  await entered.promise;

  let stopped = false;
  const stopping = server.shutdown(5_000).then(() => (stopped = true));
  await assert.rejects(callInfo(target, { deadlineMs: 2_000 }), (err: unknown) => {
    assert.ok(isBerthError(err, 'unavailable'), String(err));
    assert.equal(err.message, 'volume is shutting down');
    return true;
  });
  assert.equal(stopped, false, 'shutdown waits for the call in flight');

  release.resolve();
  const released = performance.now();
  assert.deepEqual(await inFlight, SERVICE_INFO);
  await stopping;
  assert.ok(performance.now() - released < 1_000, 'shutdown resolves once the last call is done, not at the end of the grace');
  assert.equal(existsSync(unixSocketPath(target)), false, 'the socket is removed');
  await assert.rejects(callInfo(target, { deadlineMs: 1_000 }), (err: unknown) => isBerthError(err, 'unavailable'));
});

test('after a short grace, a call that never ends is cancelled and shutdown resolves', async (t) => {
  const entered = signal();
  const aborted = signal();
  const { server, target } = await startVolumeServer(t, (_, context) => {
    entered.resolve();
    context.signal.addEventListener('abort', () => aborted.resolve());
    return new Promise(() => undefined);
  });
  const call = callInfo(target).then(
    () => assert.fail('the call should not succeed'),
    (err: unknown) => err,
  );
  await entered.promise;
  const started = performance.now();
  await server.shutdown(200);
  const took = performance.now() - started;
  assert.ok(took >= 190 && took < 1_500, `shutdown took ${Math.round(took)} ms`);
  const err = await call;
  assert.ok(isBerthError(err, 'cancelled') || isBerthError(err, 'unavailable'), String(err));
  await aborted.promise;
});

test('an open health watch does not hold shutdown for the whole grace', async (t) => {
  const { server, target } = await startVolumeServer(t, answerAtOnce);
  const client = createClient(health.HealthClient, target, { deadlineMs: 60_000 });
  t.after(() => client.close());
  const watch = client.watch({ service: '' });
  const watchEnded = signal();
  watch.on('error', () => watchEnded.resolve());
  watch.on('end', () => watchEnded.resolve());
  const serving = signal();
  watch.on('data', () => serving.resolve());
  await serving.promise;

  const started = performance.now();
  await server.shutdown(5_000);
  assert.ok(performance.now() - started < 1_500, `shutdown took ${Math.round(performance.now() - started)} ms`);
  await watchEnded.promise;
});

test('shutdown twice resolves both times, and an idle server stops at once', async (t) => {
  const { server, target } = await startVolumeServer(t, answerAtOnce);
  assert.equal(await checkHealth(target, { deadlineMs: 2_000 }), 'SERVING');
  const started = performance.now();
  await Promise.all([server.shutdown(5_000), server.shutdown(5_000)]);
  await server.shutdown(5_000);
  assert.ok(performance.now() - started < 1_000);
});
