import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBerthError } from '../../../libs/errors';
import { checkHealth, createClient } from '../../../libs/grpc';
import { health } from '../../../libs/proto';
import { SERVICE_INFO, VOLUME_SERVICE, answerAtOnce, callInfo, signal, startVolumeServer } from './fixture';

test('health is SERVING after serve(), for the server and for each service', async (t) => {
  const { target } = await startVolumeServer(t, answerAtOnce);
  assert.equal(await checkHealth(target, { deadlineMs: 2_000 }), 'SERVING');
  assert.equal(await checkHealth(target, { deadlineMs: 2_000, service: VOLUME_SERVICE }), 'SERVING');
  await assert.rejects(checkHealth(target, { deadlineMs: 2_000, service: 'berth.nothing.v1.Nothing' }), (err: unknown) =>
    isBerthError(err, 'not_found'),
  );
});

test('checkHealth() says NOT_SERVING while the server drains', async (t) => {
  const entered = signal();
  const release = signal();
  const { server, target } = await startVolumeServer(t, async () => {
    entered.resolve();
    await release.promise;
    return SERVICE_INFO;
  });
  const inFlight = callInfo(target);
  await entered.promise;
  const stopping = server.shutdown(5_000);
  try {
    // A new connection, as a prober or load balancer makes it, sees the drain.
    assert.equal(await checkHealth(target, { deadlineMs: 2_000 }), 'NOT_SERVING');
    assert.equal(await checkHealth(target, { deadlineMs: 2_000, service: VOLUME_SERVICE }), 'NOT_SERVING');
  } finally {
    release.resolve();
  }
  assert.deepEqual(await inFlight, SERVICE_INFO);
  await stopping;
});

test('a health watcher sees NOT_SERVING as the drain begins', async (t) => {
  const { server, target } = await startVolumeServer(t, answerAtOnce);
  const client = createClient(health.HealthClient, target, { deadlineMs: 10_000 });
  t.after(() => client.close());
  const watch = client.watch({ service: VOLUME_SERVICE });
  watch.on('error', () => undefined);
  const seen: string[] = [];
  const sawNotServing = signal();
  const sawServing = signal();
  watch.on('data', (response: health.HealthCheckResponse) => {
    seen.push(health.healthCheckResponse_ServingStatusToJSON(response.status));
    if (seen.at(-1) === 'SERVING') sawServing.resolve();
    if (seen.at(-1) === 'NOT_SERVING') sawNotServing.resolve();
  });
  await sawServing.promise;
  const stopping = server.shutdown(5_000);
  await sawNotServing.promise;
  assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
  await stopping;
});
