/**
 * ensureStream: the events stream gets the configured limits when it is made, and again whenever they
 * change; and a service's link ensures it after every reconnection, so a lost stream comes back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetentionPolicy, StorageType, type StreamConfig } from 'nats';
import { ensureStream } from '../../../libs/events';
import { requirePrerequisites, sharedServices, testEventSettings } from '../../support';
import { cleanup, natsClient, outboxDatabase, ownNats, readStream, sleep, startRelay, unpublishedCount, waitUntilPublished, writeEvents, writerFor } from './harness';

const SECOND = 1e9; // JetStream durations are in nanoseconds

test('ensureStream creates the stream with the configured limits, and updates them when they change', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const nc = await natsClient(t, (await sharedServices()).natsUrl);
  const jsm = await nc.jetstreamManager();
  const settings = testEventSettings({ maxAgeSeconds: 3600, duplicateWindowSeconds: 60, maxBytes: 10_000_000 });
  cleanup(t, () => jsm.streams.delete(settings.stream).catch(() => undefined));
  const config = async (): Promise<StreamConfig> => (await jsm.streams.info(settings.stream)).config;

  await ensureStream(nc, settings);
  const created = await config();
  assert.deepEqual(
    { subjects: created.subjects, storage: created.storage, retention: created.retention, maxAge: created.max_age, window: created.duplicate_window, maxBytes: created.max_bytes, replicas: created.num_replicas },
    { subjects: [`${settings.subjectPrefix}.>`], storage: StorageType.File, retention: RetentionPolicy.Limits, maxAge: 3600 * SECOND, window: 60 * SECOND, maxBytes: 10_000_000, replicas: 1 },
  );
  await nc.jetstream().publish(`${settings.subjectPrefix}.container.start`, new TextEncoder().encode('{}'));

  // Unchanged settings leave the stream as it is.
  await ensureStream(nc, settings);
  assert.deepEqual(await config(), created);

  await ensureStream(nc, { ...settings, maxAgeSeconds: 7200, duplicateWindowSeconds: 30, maxBytes: -1 });
  const updated = await config();
  assert.deepEqual(
    { maxAge: updated.max_age, window: updated.duplicate_window, maxBytes: updated.max_bytes },
    { maxAge: 7200 * SECOND, window: 30 * SECOND, maxBytes: -1 },
  );
  assert.equal((await jsm.streams.info(settings.stream)).state.messages, 1, 'an update keeps the events');

  // Back to no age limit: events are kept until maxBytes.
  await ensureStream(nc, { ...settings, maxAgeSeconds: 0, duplicateWindowSeconds: 120 });
  const unlimited = await config();
  assert.deepEqual({ maxAge: unlimited.max_age, window: unlimited.duplicate_window }, { maxAge: 0, window: 120 * SECOND });
});

test('ensureStream keeps a max age shorter than the duplicate window, which JetStream would refuse, by shortening the window', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const nc = await natsClient(t, (await sharedServices()).natsUrl);
  const jsm = await nc.jetstreamManager();
  const settings = testEventSettings({ maxAgeSeconds: 60, duplicateWindowSeconds: 120 });
  cleanup(t, () => jsm.streams.delete(settings.stream).catch(() => undefined));

  await ensureStream(nc, settings);
  let config = (await jsm.streams.info(settings.stream)).config;
  assert.deepEqual({ maxAge: config.max_age, window: config.duplicate_window }, { maxAge: 60 * SECOND, window: 60 * SECOND });

  await ensureStream(nc, { ...settings, maxAgeSeconds: 30 });
  config = (await jsm.streams.info(settings.stream)).config;
  assert.deepEqual({ maxAge: config.max_age, window: config.duplicate_window }, { maxAge: 30 * SECOND, window: 30 * SECOND });
});

test("ensureStream adds the events subjects to a stream of that name that lacks them, keeping the stream's own", { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const nc = await natsClient(t, (await sharedServices()).natsUrl);
  const jsm = await nc.jetstreamManager();
  const settings = testEventSettings();
  cleanup(t, () => jsm.streams.delete(settings.stream).catch(() => undefined));
  const other = `${settings.subjectPrefix.replace('.events', '')}.audit.>`;
  await jsm.streams.add({ name: settings.stream, subjects: [other] });

  await ensureStream(nc, settings);
  assert.deepEqual((await jsm.streams.info(settings.stream)).config.subjects, [other, `${settings.subjectPrefix}.>`]);
});

test('a stream lost while NATS was away is made again when the link reconnects, and the outbox drains into it', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const nats = await ownNats(t);
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = writerFor(settings);
  const { link } = startRelay(t, { url, natsUrl: nats.url, settings });
  await writeEvents(db, writer, 3);
  await waitUntilPublished(db);

  // The server loses the stream (a new store, say), and comes back: the link must make it again.
  const admin = await natsClient(t, nats.url);
  await (await admin.jetstreamManager()).streams.delete(settings.stream);
  await nats.stop();
  const written = await writeEvents(db, writer, 5);
  await sleep(500);
  assert.equal(await unpublishedCount(db), 5);
  await nats.start();
  await waitUntilPublished(db, 20_000, 'the outbox to drain into the new stream');
  assert.equal(link.isConnected(), true);
  const received = await readStream(admin, settings, 5);
  assert.deepEqual(received.map((r) => r.event.id), written.map((w) => w.id));
});
