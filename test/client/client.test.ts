import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError, connectBerth } from '../../client';
import { startServices } from '../support';

test('the client: typed calls and streams on every service, errors as BerthError with their kind', { timeout: 60_000 }, async (t) => {
  const suite = await startServices(t, ['volume']);
  const endpoint = suite.services.volume!.endpoint;
  // Every service serves the event stream: here the volume service's answers for it.
  const berth = connectBerth({ endpoints: { volume: endpoint, 'runtime-agent': endpoint } });
  t.after(() => berth.close());

  const created = await berth.volumes.call('create', { name: 'data', driver: '', options: {}, labels: { app: 'client' }, anonymous: false });
  assert.equal(created.volume?.name, 'data');
  const listed = await berth.volumes.call('list', { filters: { label: { values: ['app=client'] } } });
  assert.deepEqual(listed.volumes.map((v) => v.name), ['data']);

  await assert.rejects(berth.volumes.call('inspect', { name: 'nowhere' }), (err: unknown) => err instanceof BerthError && err.kind === 'not_found' && /nowhere/.test(err.message));
  await assert.rejects(berth.volumes.call('create', { name: 'data', driver: 'nfs-or-so', options: {}, labels: {}, anonymous: false }), (err: unknown) => err instanceof BerthError);

  const seen: string[] = [];
  for await (const { event } of berth.events.stream('subscribe', { filters: { type: { values: ['volume'] } }, since: { $case: 'sinceSequence', value: 1 }, until: { $case: 'untilTime', value: new Date() } })) {
    seen.push(`${event!.action} ${event!.actorId}`);
  }
  assert.deepEqual(seen, ['create data']);
});
