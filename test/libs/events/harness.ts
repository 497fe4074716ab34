/**
 * What the events tests share: a migrated outbox, relays that close after the test, writers, and
 * readers that check the stream holds each event once.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
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
} from '../../../libs/events';
import { createLogger } from '../../../libs/logging';
import { eventually, TestNats, testDatabase } from '../../support';

export const logger = createLogger({ name: 'test', level: 'warn' });
export const SCHEMA = 'test_svc';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups = new WeakMap<TestContext, Array<() => Promise<unknown>>>();

/**
 * Runs fn after the test, last registered first (t.after runs hooks first registered first): relays
 * stop before their link and database close, and all before testDatabase drops the database.
 */
export function cleanup(t: TestContext, fn: () => Promise<unknown>): void {
  let stack = cleanups.get(t);
  if (stack === undefined) {
    const fns: Array<() => Promise<unknown>> = [];
    stack = fns;
    cleanups.set(t, fns);
    t.after(async () => {
      for (const next of fns.reverse()) await next();
    });
  }
  stack.push(fn);
}

/** A database of the test's own with the outbox migrated into SCHEMA. */
export async function outboxDatabase(t: TestContext): Promise<{ db: Database; url: string }> {
  // Registers the cleanup hook before testDatabase registers the drop.
  cleanup(t, async () => undefined);
  const url = await testDatabase(t);
  const db = openDatabase({ url, schema: SCHEMA, applicationName: 'test' });
  cleanup(t, () => db.close());
  await migrate(db, [outboxMigrationsDir()], logger);
  return { db, url };
}

/** The URL with an application_name, so a relay's session can be told apart in pg_stat_activity. */
export function namedUrl(url: string, applicationName: string): string {
  const named = new URL(url);
  named.searchParams.set('application_name', applicationName);
  return named.toString();
}

export interface StartedRelay {
  relay: OutboxRelay;
  link: NatsLink;
  /** The relay's application_name in Postgres. */
  name: string;
}

/** A relay like a service runs one (its link ensures the stream on every connection), stopped after the test. */
export function startRelay(t: TestContext, options: { url: string; natsUrl: string; settings: EventSettings; name?: string }): StartedRelay {
  const name = options.name ?? 'relay';
  const link = new NatsLink({ url: options.natsUrl, name, logger });
  link.onConnect((nc) => ensureStream(nc, options.settings));
  const relay = new OutboxRelay({
    url: namedUrl(options.url, name),
    schema: SCHEMA,
    link,
    settings: options.settings,
    logger,
    pollIntervalMs: 200,
  });
  relay.start();
  cleanup(t, async () => {
    await relay.stop();
    await link.close();
  });
  return { relay, link, name };
}

export async function natsClient(t: TestContext, url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url });
  cleanup(t, () => nc.close());
  return nc;
}

export interface Written {
  id: string;
  actorId: string;
}

/** Writes count events one transaction each, round-robin over the actors. */
export async function writeEvents(db: Database, writer: EventWriter, count: number, actors = ['a1', 'a2', 'a3', 'a4', 'a5']): Promise<Written[]> {
  const written: Written[] = [];
  for (let i = 0; i < count; i++) {
    const actorId = actors[i % actors.length]!;
    const event = await db.transaction((client) => writer.append(client, { type: 'container', action: 'start', actorId, attributes: { n: String(i) } }));
    written.push({ id: event.id, actorId });
  }
  return written;
}

/** The outbox's event ids in insertion (seq) order. */
export async function outboxIds(db: Database): Promise<string[]> {
  const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM outbox ORDER BY seq');
  return rows.map((row) => row.id);
}

export async function unpublishedCount(db: Database): Promise<number> {
  const { rows } = await db.pool.query<{ count: string }>('SELECT count(*) FROM outbox WHERE published_at IS NULL');
  return Number(rows[0]!.count);
}

export function waitUntilPublished(db: Database, timeoutMs = 15_000, what = 'the outbox to drain'): Promise<true> {
  return eventually(async () => ((await unpublishedCount(db)) === 0 ? true : undefined), timeoutMs, what);
}

/**
 * Every event in the stream, replayed from its first, in stream order. Fails unless the stream holds
 * exactly `expected` messages: one more would be a duplicate.
 */
export async function readStream(nc: NatsConnection, settings: EventSettings, expected: number, timeoutMs = 15_000): Promise<ReceivedEvent[]> {
  const received: ReceivedEvent[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    for await (const event of subscribeEvents(nc, { settings, since: { sequence: 1 }, signal: controller.signal })) {
      received.push(event);
      if (received.length === expected) break;
    }
  } finally {
    clearTimeout(timer);
  }
  assert.equal(received.length, expected, `read ${received.length} events in ${timeoutMs} ms, expected ${expected}`);
  const info = await (await nc.jetstreamManager()).streams.info(settings.stream);
  assert.equal(info.state.messages, expected, `the stream holds ${info.state.messages} messages, expected ${expected}`);
  return received;
}

/** Each id exactly once (counted by event id), and nothing else. */
export function assertEachOnce(received: ReceivedEvent[], ids: string[]): void {
  const counts = new Map<string, number>();
  for (const { event } of received) counts.set(event.id, (counts.get(event.id) ?? 0) + 1);
  assert.deepEqual([...counts].filter(([, count]) => count > 1), [], 'no event is in the stream twice');
  assert.deepEqual(ids.filter((id) => !counts.has(id)), [], 'every event written is in the stream');
  assert.equal(counts.size, ids.length, 'no event that was not written is in the stream');
}

/** Each id exactly once, and in the given order. */
export function assertOnceInOrder(received: ReceivedEvent[], ids: string[]): void {
  assertEachOnce(received, ids);
  assert.deepEqual(received.map((r) => r.event.id), ids, 'stream order is outbox order');
}

/** Each actor's events in the order the actor's changes were written. */
export function assertActorOrder(received: ReceivedEvent[], written: Written[]): void {
  const byActor = (items: Array<{ id: string; actorId: string }>) => {
    const map = new Map<string, string[]>();
    for (const item of items) map.set(item.actorId, [...(map.get(item.actorId) ?? []), item.id]);
    return map;
  };
  const seen = byActor(received.map((r) => ({ id: r.event.id, actorId: r.event.actorId })));
  for (const [actorId, ids] of byActor(written)) assert.deepEqual(seen.get(actorId), ids, `events of ${actorId} in order`);
}

/**
 * How often each event id went over NATS, counted by a plain subscriber: it sees every publish,
 * including the re-sends JetStream drops as duplicates.
 */
export async function countPublishes(nc: NatsConnection, settings: EventSettings): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  nc.subscribe(`${settings.subjectPrefix}.>`, {
    callback: (err, message) => {
      if (err !== null) return;
      const { id } = message.json<{ id: string }>();
      counts.set(id, (counts.get(id) ?? 0) + 1);
    },
  });
  // Subscribed on the server before anything is published.
  await nc.flush();
  return counts;
}

/** A nats-server of the test's own, which it can stop and start again (an outage). */
export async function ownNats(t: TestContext): Promise<TestNats> {
  const nats = await TestNats.start();
  cleanup(t, () => nats.destroy());
  return nats;
}

/** The application names of the sessions that hold an advisory lock in the test's database: the publishing relay. */
export async function lockHolders(db: Database): Promise<string[]> {
  const { rows } = await db.pool.query<{ application_name: string }>(
    `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()`,
  );
  return rows.map((row) => row.application_name);
}

/** The pid of a session of the given application that waits on a lock (a row lock, say), if any; not `except`. */
export async function blockedSession(db: Database, applicationName: string, except = 0): Promise<number | undefined> {
  const { rows } = await db.pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = $1 AND wait_event_type = 'Lock' AND pid <> $2`,
    [applicationName, except],
  );
  return rows[0]?.pid;
}

export async function terminateSession(db: Database, pid: number): Promise<void> {
  await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
}

export function writerFor(settings: EventSettings, node = 'node-1'): EventWriter {
  return new EventWriter('test', node, settings.subjectPrefix);
}
