/**
 * The transactional outbox against a real Postgres and nats-server: an event exists iff its change
 * commits, and reaches JetStream exactly once and in order through outages and relay restarts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ensureStream } from '../../../libs/events';
import { eventually, requirePrerequisites, sharedServices, testEventSettings } from '../../support';
import {
  assertActorOrder,
  assertEachOnce,
  assertOnceInOrder,
  blockedSession,
  cleanup,
  countPublishes,
  natsClient,
  outboxDatabase,
  outboxIds,
  ownNats,
  readStream,
  sleep,
  startRelay,
  terminateSession,
  unpublishedCount,
  waitUntilPublished,
  writeEvents,
  writerFor,
  type Written,
} from './harness';

test('events written while nats-server is stopped all arrive after it starts again, once each and in order', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const nats = await ownNats(t);
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = writerFor(settings);
  const { link } = startRelay(t, { url, natsUrl: nats.url, settings });
  const before = await writeEvents(db, writer, 5);
  await waitUntilPublished(db, 15_000, 'the events written before the outage');

  await nats.stop();
  await eventually(() => (link.isConnected() ? undefined : true), 10_000, 'the link to notice the outage');
  const during = await writeEvents(db, writer, 50, ['c1', 'c2', 'c3', 'c4']);
  await sleep(1_000);
  assert.equal(await unpublishedCount(db), 50, 'the events wait in the outbox while NATS is away');

  await nats.start();
  await waitUntilPublished(db, 20_000, 'the outbox to drain once NATS is back');
  const nc = await natsClient(t, nats.url);
  const received = await readStream(nc, settings, 55);
  const written = [...before, ...during];
  assertOnceInOrder(received, written.map((w) => w.id));
  assert.deepEqual(await outboxIds(db), written.map((w) => w.id), 'outbox order is the order written');
  assertActorOrder(received, written);

  const event = received[7]!.event; // the third written during the outage
  assert.equal(event.id, during[2]!.id);
  assert.deepEqual(
    { type: event.type, action: event.action, actorId: event.actorId, node: event.node, service: event.service, attributes: event.attributes },
    { type: 'container', action: 'start', actorId: 'c3', node: 'node-1', service: 'test', attributes: { n: '2' } },
  );
  assert.ok(event.time instanceof Date && Math.abs(event.time.getTime() - Date.now()) < 60_000, 'the event carries the time of its change');
});

test('a relay started while nats-server is down publishes the outbox, and creates the stream, once it comes up', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const nats = await ownNats(t);
  await nats.stop();
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = writerFor(settings);
  startRelay(t, { url, natsUrl: nats.url, settings });
  const written = await writeEvents(db, writer, 30, ['v1', 'v2', 'v3']);
  await sleep(1_500);
  assert.equal(await unpublishedCount(db), 30, 'nothing is published without NATS');

  await nats.start();
  await waitUntilPublished(db, 20_000, 'the outbox to drain once NATS is up');
  const received = await readStream(await natsClient(t, nats.url), settings, 30);
  assertOnceInOrder(received, written.map((w) => w.id));
  assertActorOrder(received, written);
});

test('a relay killed between publish and mark, or stopped mid-way, and started again duplicates nothing', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const { natsUrl } = await sharedServices();
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = writerFor(settings);
  const nc = await natsClient(t, natsUrl);
  await ensureStream(nc, settings);
  const publishes = await countPublishes(nc, settings);
  const written = await writeEvents(db, writer, 200);
  const ids = written.map((w) => w.id);

  // A relay that died after JetStream acknowledged the first ten rows and before it marked them:
  // they went out with their event ids as Nats-Msg-Id, and are still unmarked.
  const { rows } = await db.pool.query<{ id: string; subject: string; payload: unknown }>('SELECT id, subject, payload FROM outbox ORDER BY seq LIMIT 10');
  const js = nc.jetstream();
  for (const row of rows) await js.publish(row.subject, new TextEncoder().encode(JSON.stringify(row.payload)), { msgID: row.id });

  // Row locks make the relay wait in its UPDATE of row 60 (row 61 is published meanwhile), then of 150 (and 151).
  const blockers = await Promise.all([lockRow(ids[59]!), lockRow(ids[149]!)]);
  const first = startRelay(t, { url, natsUrl, settings, name: 'relay-1' });
  cleanup(t, () => Promise.all(blockers.map((b) => b.release())));

  // Kill its session there: published, not marked.
  const pid = await eventually(() => blockedSession(db, 'relay-1'), 15_000, 'the relay to wait on row 60');
  assert.equal(await isPublished(ids[59]!), false);
  await eventually(() => (publishes.get(ids[59]!) === 1 ? true : undefined), 5_000, 'row 60 to have gone out');
  await terminateSession(db, pid);
  await blockers[0]!.release();

  // It reconnects and goes on to row 150; stop it there, mid-way.
  await eventually(async () => ((await blockedSession(db, 'relay-1', pid)) !== undefined ? true : undefined), 15_000, 'the relay to wait on row 150');
  const stopping = first.relay.stop();
  await blockers[1]!.release();
  await stopping;
  assert.equal(await unpublishedCount(db), 49, 'the stopped relay published up to row 151 (the one after the wait) and no further');

  startRelay(t, { url, natsUrl, settings, name: 'relay-2' });
  await waitUntilPublished(db, 20_000, 'the second relay to publish the rest');

  assertOnceInOrder(await readStream(nc, settings, 200), ids);
  const resent = ids.filter((id) => (publishes.get(id) ?? 0) > 1);
  assert.deepEqual(resent, [...ids.slice(0, 10), ids[59], ids[60]], 'the rows published but not marked went out again (and JetStream dropped them)');
  const { rows: marks } = await db.pool.query<{ unmarked: string }>('SELECT count(*) FILTER (WHERE published_at IS NULL) AS unmarked FROM outbox');
  assert.equal(Number(marks[0]!.unmarked), 0, 'every row ends marked published');

  /** Holds a row lock on one outbox row until released. */
  async function lockRow(id: string): Promise<{ release(): Promise<void> }> {
    const client = await db.pool.connect();
    await client.query('BEGIN');
    await client.query('SELECT 1 FROM outbox WHERE id = $1 FOR UPDATE', [id]);
    let released = false;
    return {
      async release() {
        if (released) return;
        released = true;
        await client.query('ROLLBACK');
        client.release();
      },
    };
  }

  async function isPublished(id: string): Promise<boolean> {
    const result = await db.pool.query<{ published: boolean }>('SELECT published_at IS NOT NULL AS published FROM outbox WHERE id = $1', [id]);
    return result.rows[0]!.published;
  }
});

test('an event exists if and only if its change commits', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const { natsUrl } = await sharedServices();
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = writerFor(settings);
  await db.pool.query('CREATE TABLE volumes (name text PRIMARY KEY)');
  startRelay(t, { url, natsUrl, settings });

  const createVolume = (name: string, fail?: 'throw' | 'conflict') =>
    db.transaction(async (client) => {
      const event = await writer.append(client, { type: 'volume', action: 'create', actorId: name });
      await client.query('INSERT INTO volumes (name) VALUES ($1)', [name]);
      if (fail === 'throw') throw new Error('the change failed');
      if (fail === 'conflict') await client.query('INSERT INTO volumes (name) VALUES ($1)', [name]);
      return event;
    });

  await assert.rejects(createVolume('v1', 'throw'), /the change failed/);
  const v2 = await createVolume('v2');
  await assert.rejects(createVolume('v3', 'conflict'), /duplicate key/);
  await assert.rejects(
    db.transaction((client) => writer.append(client, { type: 'Bad Type', action: 'create', actorId: 'v4' })),
    /event type "Bad Type" must be a lowercase word/,
  );
  const v5 = await createVolume('v5');

  const { rows } = await db.pool.query<{ name: string }>('SELECT name FROM volumes ORDER BY name');
  assert.deepEqual(rows.map((row) => row.name), ['v2', 'v5']);
  assert.deepEqual(await outboxIds(db), [v2.id, v5.id], 'only the committed changes have outbox rows');
  await waitUntilPublished(db);
  const received = await readStream(await natsClient(t, natsUrl), settings, 2);
  assert.deepEqual(received.map((r) => r.event.actorId), ['v2', 'v5'], 'only the committed changes have events');
});

test('concurrent writers: each actor’s events arrive once and in the order of its changes', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const { natsUrl } = await sharedServices();
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = writerFor(settings);
  startRelay(t, { url, natsUrl, settings });

  // One writer per actor, all at once, while the relay publishes: an actor's changes are serial (as a
  // service serialises changes to one object), different actors' interleave.
  const actors = ['w1', 'w2', 'w3', 'w4', 'w5', 'w6'];
  const perActor = await Promise.all(actors.map((actor) => writeEvents(db, writer, 20, [actor])));
  const written: Written[] = perActor.flat();
  await waitUntilPublished(db, 20_000);

  const received = await readStream(await natsClient(t, natsUrl), settings, written.length);
  assertEachOnce(received, written.map((w) => w.id));
  assertActorOrder(received, written);
});

test("the trace of a change reaches the event's consumer, through the outbox row and NATS headers", { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  new NodeTracerProvider().register();
  const { natsUrl } = await sharedServices();
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = writerFor(settings);
  startRelay(t, { url, natsUrl, settings });

  const traceId = await trace.getTracer('test').startActiveSpan('change', async (span) => {
    await db.transaction((client) => writer.append(client, { type: 'volume', action: 'create', actorId: 'v1' }));
    span.end();
    return span.spanContext().traceId;
  });
  await waitUntilPublished(db);
  const [received] = await readStream(await natsClient(t, natsUrl), settings, 1);
  assert.equal(trace.getSpanContext(received!.context)?.traceId, traceId);
});
