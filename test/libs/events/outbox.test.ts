import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { connect, type NatsConnection } from 'nats';
import { migrate, openDatabase, type Database } from '../../../libs/db';
import {
  ensureStream,
  EventWriter,
  NatsLink,
  OutboxRelay,
  outboxMigrationsDir,
  subscribeEvents,
  type EventSettings,
  type ReceivedEvent,
  type SubscribeOptions,
} from '../../../libs/events';
import { createLogger } from '../../../libs/logging';
import { eventually, requirePrerequisites, sharedServices, TestNats, testDatabase, testEventSettings } from '../../support';

const logger = createLogger({ name: 'test', level: 'error' });
const SCHEMA = 'test_service';

async function outboxDatabase(t: TestContext): Promise<{ db: Database; url: string }> {
  const url = await testDatabase(t);
  const db = openDatabase({ url, schema: SCHEMA, applicationName: 'test' });
  t.after(() => db.close());
  await migrate(db, [outboxMigrationsDir()], logger);
  return { db, url };
}

function startRelay(t: TestContext, url: string, natsUrl: string, settings: EventSettings): { relay: OutboxRelay; link: NatsLink } {
  const link = new NatsLink({ url: natsUrl, name: 'test-relay', logger });
  link.onConnect((nc) => ensureStream(nc, settings));
  const relay = new OutboxRelay({ url, schema: SCHEMA, link, settings, logger, pollIntervalMs: 200 });
  relay.start();
  t.after(async () => {
    await relay.stop();
    await link.close();
  });
  return { relay, link };
}

async function writeEvents(db: Database, writer: EventWriter, count: number, actors = 5): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const event = await db.transaction((client) =>
      writer.append(client, { type: 'container', action: 'start', actorId: `actor-${i % actors}`, attributes: { n: String(i) } }),
    );
    ids.push(event.id);
  }
  return ids;
}

/** Every event in the stream, in stream order (replayed from the first). */
async function readAll(nc: NatsConnection, settings: EventSettings, expected: number, timeoutMs = 20_000): Promise<ReceivedEvent[]> {
  const received: ReceivedEvent[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    for await (const event of subscribeEvents(nc, { settings, since: { sequence: 1 }, signal: controller.signal })) {
      received.push(event);
      if (received.length >= expected) break;
    }
  } finally {
    clearTimeout(timer);
  }
  // Anything beyond the expected would be a duplicate: wait a moment for one to show up.
  const info = await (await nc.jetstreamManager()).streams.info(settings.stream);
  assert.equal(info.state.messages, expected, `the stream holds ${info.state.messages} events, expected ${expected}`);
  return received;
}

async function unpublishedCount(db: Database): Promise<number> {
  const result = await db.pool.query<{ count: string }>('SELECT count(*) FROM outbox WHERE published_at IS NULL');
  return Number(result.rows[0]!.count);
}

test('events written while NATS is down arrive after it returns, once each and in order', { timeout: 90_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const nats = await TestNats.start();
  t.after(() => nats.destroy());
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = new EventWriter('test', 'node-1', settings.subjectPrefix);
  const { link } = startRelay(t, url, nats.url, settings);

  const before = await writeEvents(db, writer, 10);
  await eventually(async () => ((await unpublishedCount(db)) === 0 ? true : undefined), 15_000, 'the first events to be published');

  await nats.stop();
  await eventually(() => (link.isConnected() ? undefined : true), 10_000, 'the relay to notice NATS is gone');
  const during = await writeEvents(db, writer, 50);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(await unpublishedCount(db), 50, 'the outbox holds the events while NATS is away');

  await nats.start();
  await eventually(async () => ((await unpublishedCount(db)) === 0 ? true : undefined), 30_000, 'the outbox to drain');

  const nc = await connect({ servers: nats.url });
  t.after(() => nc.close());
  const received = await readAll(nc, settings, 60);
  assert.deepEqual(received.map((r) => r.event.id), [...before, ...during], 'each event once, in the order written');
  const event = received[12]!.event; // the third written while NATS was away
  assert.equal(event.type, 'container');
  assert.equal(event.action, 'start');
  assert.equal(event.actorId, 'actor-2');
  assert.equal(event.node, 'node-1');
  assert.equal(event.service, 'test');
  assert.deepEqual(event.attributes, { n: '2' });
  assert.ok(event.time instanceof Date);
});

test('a relay restarted mid-way, after publishing but before marking, does not duplicate', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const { natsUrl } = await sharedServices();
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = new EventWriter('test', 'node-1', settings.subjectPrefix);
  const nc = await connect({ servers: natsUrl });
  t.after(() => nc.close());
  await ensureStream(nc, settings);

  const ids = await writeEvents(db, writer, 40);
  // A relay that died after JetStream acknowledged these rows but before it marked them published:
  // the same rows, published with their ids, still unmarked in the outbox.
  const { rows } = await db.pool.query<{ id: string; subject: string; payload: unknown }>('SELECT id, subject, payload FROM outbox ORDER BY seq LIMIT 15');
  const js = nc.jetstream();
  for (const row of rows) await js.publish(row.subject, new TextEncoder().encode(JSON.stringify(row.payload)), { msgID: row.id });

  const first = startRelay(t, url, natsUrl, settings);
  await eventually(async () => ((await unpublishedCount(db)) < 30 ? true : undefined), 15_000, 'the relay to start publishing');
  await first.relay.stop();
  await writeEvents(db, writer, 10).then((more) => ids.push(...more));
  startRelay(t, url, natsUrl, settings);
  await eventually(async () => ((await unpublishedCount(db)) === 0 ? true : undefined), 15_000, 'the outbox to drain');

  const received = await readAll(nc, settings, 50);
  assert.deepEqual(received.map((r) => r.event.id), ids);
});

test('an event exists if and only if its transaction commits', { timeout: 30_000 }, async (t) => {
  const { db } = await outboxDatabase(t);
  const writer = new EventWriter('test', 'node-1', testEventSettings().subjectPrefix);
  await assert.rejects(
    db.transaction(async (client) => {
      await writer.append(client, { type: 'volume', action: 'create', actorId: 'v1' });
      throw new Error('the change failed');
    }),
    /the change failed/,
  );
  assert.equal((await db.pool.query('SELECT * FROM outbox')).rowCount, 0);
  await db.transaction((client) => writer.append(client, { type: 'volume', action: 'create', actorId: 'v2' }));
  assert.equal((await db.pool.query('SELECT * FROM outbox')).rowCount, 1);
  await assert.rejects(
    db.transaction((client) => writer.append(client, { type: 'Bad Type', action: 'create', actorId: 'v3' })),
    /event type "Bad Type" must be a lowercase word/,
  );
});

test('two relays on one schema: one publishes, the other takes over when it stops; order kept', { timeout: 60_000 }, async (t) => {
  const { natsUrl } = await sharedServices();
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = new EventWriter('test', 'node-1', settings.subjectPrefix);
  const one = startRelay(t, url, natsUrl, settings);
  startRelay(t, url, natsUrl, settings);

  const ids = await writeEvents(db, writer, 30);
  await eventually(async () => ((await unpublishedCount(db)) === 0 ? true : undefined), 15_000, 'the first batch');
  await one.relay.stop();
  ids.push(...(await writeEvents(db, writer, 30)));
  await eventually(async () => ((await unpublishedCount(db)) === 0 ? true : undefined), 20_000, 'the stand-in to take over');

  const nc = await connect({ servers: natsUrl });
  t.after(() => nc.close());
  assert.deepEqual((await readAll(nc, settings, 60)).map((r) => r.event.id), ids);
});

test('subscribers replay from a sequence or a time, then follow live events, filtered by type and action', { timeout: 60_000 }, async (t) => {
  const { natsUrl } = await sharedServices();
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = new EventWriter('test', 'node-1', settings.subjectPrefix);
  startRelay(t, url, natsUrl, settings);
  const nc = await connect({ servers: natsUrl });
  t.after(() => nc.close());

  const append = (type: string, action: string, actorId: string) => db.transaction((client) => writer.append(client, { type, action, actorId }));
  await append('container', 'create', 'c1');
  await append('image', 'pull', 'busybox');
  await eventually(async () => ((await unpublishedCount(db)) === 0 ? true : undefined), 15_000, 'the first events');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const midpoint = new Date();
  await append('container', 'start', 'c1');
  await eventually(async () => ((await unpublishedCount(db)) === 0 ? true : undefined), 15_000, 'the third event');

  const take = async (options: Omit<SubscribeOptions, 'settings'>, count: number, whileReading?: () => Promise<unknown>) => {
    const controller = new AbortController();
    const got: ReceivedEvent[] = [];
    const timer = setTimeout(() => controller.abort(), 15_000);
    // Written once the subscription has replayed what there was: it must arrive live.
    const live = whileReading === undefined ? undefined : new Promise((resolve) => setTimeout(resolve, 500)).then(whileReading);
    for await (const event of subscribeEvents(nc, { ...options, settings, signal: controller.signal })) {
      got.push(event);
      if (got.length >= count) break;
    }
    clearTimeout(timer);
    await live;
    return got;
  };

  const fromTwo = await take({ since: { sequence: 2 } }, 2);
  assert.deepEqual(fromTwo.map((r) => [r.sequence, r.event.actorId, r.event.action]), [[2, 'busybox', 'pull'], [3, 'c1', 'start']]);
  const fromTime = await take({ since: { time: midpoint } }, 1);
  assert.deepEqual(fromTime.map((r) => r.event.action), ['start']);
  const containers = await take({ type: 'container', since: { sequence: 1 } }, 2);
  assert.deepEqual(containers.map((r) => r.event.action), ['create', 'start']);
  // Replay, then the live event written while reading.
  const followed = await take({ type: 'container', action: 'die', since: { sequence: 1 } }, 1, () => append('container', 'die', 'c1'));
  assert.deepEqual(followed.map((r) => [r.event.action, r.sequence]), [['die', 4]]);
});

test('ensureStream applies the configured limits and updates them', { timeout: 30_000 }, async (t) => {
  const { natsUrl } = await sharedServices();
  const nc = await connect({ servers: natsUrl });
  t.after(() => nc.close());
  const settings = testEventSettings({ maxAgeSeconds: 3600, duplicateWindowSeconds: 60 });
  await ensureStream(nc, settings);
  const jsm = await nc.jetstreamManager();
  let config = (await jsm.streams.info(settings.stream)).config;
  assert.equal(config.max_age, 3600 * 1e9);
  assert.equal(config.duplicate_window, 60 * 1e9);
  assert.deepEqual(config.subjects, [`${settings.subjectPrefix}.>`]);

  await ensureStream(nc, { ...settings, maxAgeSeconds: 7200, maxBytes: 1_000_000 });
  config = (await jsm.streams.info(settings.stream)).config;
  assert.equal(config.max_age, 7200 * 1e9);
  assert.equal(config.max_bytes, 1_000_000);
  await jsm.streams.delete(settings.stream);
});

test("the trace of a change reaches the event's consumer, through the outbox row and NATS headers", { timeout: 30_000 }, async (t) => {
  new NodeTracerProvider().register();
  const { natsUrl } = await sharedServices();
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = new EventWriter('test', 'node-1', settings.subjectPrefix);
  startRelay(t, url, natsUrl, settings);
  const nc = await connect({ servers: natsUrl });
  t.after(() => nc.close());

  const traceId = await trace.getTracer('test').startActiveSpan('change', async (span) => {
    await db.transaction((client) => writer.append(client, { type: 'volume', action: 'create', actorId: 'v1' }));
    span.end();
    return span.spanContext().traceId;
  });
  await eventually(async () => ((await unpublishedCount(db)) === 0 ? true : undefined), 15_000, 'the event to be published');
  const [received] = await readAll(nc, settings, 1);
  assert.equal(trace.getSpanContext(received!.context)?.traceId, traceId);
});
