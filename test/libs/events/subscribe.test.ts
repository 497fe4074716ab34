/**
 * subscribeEvents against a real stream: replay from a sequence or a time, then live events, with the
 * filters nats-server 2.9 supports (one subject: type, action, or both), and an end on abort.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { NatsConnection } from 'nats';
import { subscribeEvents, type EventSettings, type ReceivedEvent, type SubscribeOptions } from '../../../libs/events';
import { eventually, requirePrerequisites, sharedServices, testEventSettings } from '../../support';
import { natsClient, outboxDatabase, ownNats, sleep, startRelay, waitUntilPublished, writerFor } from './harness';

interface Scene {
  nc: NatsConnection;
  settings: EventSettings;
  /** Writes one event and waits until the relay has published it. */
  emit(type: string, action: string, actorId: string): Promise<void>;
}

/** A relay publishing a stream of the test's own, and a way to add events to it. */
async function scene(t: TestContext, natsUrl?: string): Promise<Scene> {
  natsUrl ??= (await sharedServices()).natsUrl;
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = writerFor(settings);
  startRelay(t, { url, natsUrl, settings });
  const nc = await natsClient(t, natsUrl);
  return {
    nc,
    settings,
    async emit(type, action, actorId) {
      await db.transaction((client) => writer.append(client, { type, action, actorId }));
      await waitUntilPublished(db);
    },
  };
}

/**
 * Reads until `count` events came; after the `replayed`-th it calls live(), whose events must then
 * arrive through the same subscription.
 */
async function follow(
  s: Scene,
  options: Omit<SubscribeOptions, 'settings' | 'signal'>,
  count: number,
  replayed?: number,
  live?: () => Promise<void>,
): Promise<ReceivedEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  const got: ReceivedEvent[] = [];
  try {
    if (replayed === 0) await live?.();
    for await (const received of subscribeEvents(s.nc, { ...options, settings: s.settings, signal: controller.signal })) {
      got.push(received);
      if (got.length === replayed) await live?.();
      if (got.length === count) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return got;
}

const summary = (got: ReceivedEvent[]) => got.map((r) => `${r.sequence} ${r.event.type}.${r.event.action} ${r.event.actorId}`);

test('a subscriber replays from a sequence or from a time, then goes on with live events', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const s = await scene(t);
  await s.emit('container', 'create', 'c1');
  await s.emit('image', 'pull', 'busybox');
  await sleep(50);
  await s.emit('container', 'start', 'c1');

  const fromTwo = await follow(s, { since: { sequence: 2 } }, 3, 2, () => s.emit('container', 'die', 'c1'));
  assert.deepEqual(summary(fromTwo), ['2 image.pull busybox', '3 container.start c1', '4 container.die c1']);

  // From the third event's own time (JetStream's clock, to the millisecond): it and what followed.
  const third = await (await s.nc.jetstreamManager()).streams.getMessage(s.settings.stream, { seq: 3 });
  const fromTime = await follow(s, { since: { time: third.time } }, 3, 2, () => s.emit('image', 'delete', 'busybox'));
  assert.deepEqual(summary(fromTime), ['3 container.start c1', '4 container.die c1', '5 image.delete busybox']);

  // Resuming after the last one seen gives only what came after it.
  const resumed = await follow(s, { since: { sequence: fromTime.at(-1)!.sequence + 1 } }, 1, 0, () => s.emit('volume', 'create', 'v1'));
  assert.deepEqual(summary(resumed), ['6 volume.create v1']);

  // Without `since`, only events published from now on: none of the six there are.
  let first: ReceivedEvent | undefined;
  const writing = (async () => {
    for (let i = 0; first === undefined && i < 30; i++) {
      await s.emit('network', 'connect', `n${i}`);
      await sleep(200);
    }
  })();
  first = (await follow(s, {}, 1))[0];
  await writing;
  assert.ok(first !== undefined && first.sequence > 6 && first.event.type === 'network', `a new event first, got ${summary(first ? [first] : [])}`);
});

test('a subscriber filters by type, by action, or by both, in replay and live', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const s = await scene(t);
  await s.emit('container', 'create', 'c1');
  await s.emit('image', 'pull', 'busybox');
  await s.emit('container', 'start', 'c1');
  await s.emit('image', 'delete', 'busybox');

  // Replays the two container events, then skips a live image event for the live container one.
  const containers = await follow(s, { type: 'container', since: { sequence: 1 } }, 3, 2, async () => {
    await s.emit('image', 'pull', 'alpine');
    await s.emit('container', 'die', 'c1');
  });
  assert.deepEqual(summary(containers), ['1 container.create c1', '3 container.start c1', '6 container.die c1']);

  const pulls = await follow(s, { action: 'pull', since: { sequence: 1 } }, 2);
  assert.deepEqual(summary(pulls), ['2 image.pull busybox', '5 image.pull alpine']);

  const deletes = await follow(s, { type: 'image', action: 'delete', since: { sequence: 1 } }, 2, 1, async () => {
    await s.emit('container', 'delete', 'c1');
    await s.emit('image', 'delete', 'alpine');
  });
  assert.deepEqual(summary(deletes), ['4 image.delete busybox', '8 image.delete alpine']);
});

test('aborting ends a subscription: while it waits, while it is being made, or before it starts', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const s = await scene(t);
  await s.emit('container', 'create', 'c1');
  const jsm = await s.nc.jetstreamManager();
  const within = <T>(promise: Promise<T>, what: string) =>
    Promise.race([promise, sleep(5_000).then(() => Promise.reject(new Error(`${what} did not end within 5 s`)))]);

  // While it waits for live events, after the replay.
  const waiting = new AbortController();
  const got: ReceivedEvent[] = [];
  const reading = (async () => {
    for await (const received of subscribeEvents(s.nc, { settings: s.settings, since: { sequence: 1 }, signal: waiting.signal })) got.push(received);
  })();
  await eventually(() => (got.length === 1 ? true : undefined), 10_000, 'the replay');
  waiting.abort();
  await within(reading, 'a subscription aborted while waiting');

  // Aborted right after it was asked for, while its consumer is being made.
  const making = new AbortController();
  const events = subscribeEvents(s.nc, { settings: s.settings, since: { sequence: 1 }, signal: making.signal });
  const next = events.next();
  making.abort();
  const result = await within(next, 'a subscription aborted while being made');
  assert.ok(result.done === true || result.value.sequence === 1, 'at most the event there was, then the end');
  if (result.done !== true) assert.equal((await within(events.next(), 'the rest of it')).done, true);

  // Aborted before it starts: nothing at all.
  const before = new AbortController();
  before.abort();
  const none = await within(subscribeEvents(s.nc, { settings: s.settings, since: { sequence: 1 }, signal: before.signal }).next(), 'a subscription aborted before it started');
  assert.equal(none.done, true);

  // None leaves its consumer behind on the server.
  await eventually(async () => ((await jsm.streams.info(s.settings.stream)).state.consumer_count === 0 ? true : undefined), 10_000, 'the consumers to go');
});

test('a subscriber goes on across a nats-server restart, without a gap or a repeat', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const nats = await ownNats(t);
  const s = await scene(t, nats.url);
  await s.emit('container', 'create', 'c1');
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 30_000);
  t.after(() => clearTimeout(timer));
  const got: ReceivedEvent[] = [];
  const reading = (async () => {
    for await (const received of subscribeEvents(s.nc, { settings: s.settings, since: { sequence: 1 }, signal: controller.signal })) {
      got.push(received);
      if (got.length === 3) break;
    }
  })();
  await eventually(() => (got.length === 1 ? true : undefined), 10_000, 'the replay');

  await nats.stop();
  await sleep(500);
  await nats.start();
  await s.emit('container', 'start', 'c1');
  await s.emit('container', 'die', 'c1');
  await reading;
  assert.deepEqual(summary(got), ['1 container.create c1', '2 container.start c1', '3 container.die c1']);
});
