/**
 * Several relays on one schema (a service's processes on many hosts): one publishes at a time, the
 * others stand by and take over, and the stream still holds each event once, in outbox order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Database } from '../../../libs/db';
import type { EventWriter } from '../../../libs/events';
import { eventually, requirePrerequisites, sharedServices, testEventSettings } from '../../support';
import {
  assertOnceInOrder,
  lockHolders,
  natsClient,
  outboxDatabase,
  outboxIds,
  readStream,
  sleep,
  startRelay,
  terminateSession,
  waitUntilPublished,
  writeEvents,
  writerFor,
  type StartedRelay,
  type Written,
} from './harness';

/** The name of the one relay holding the schema's lock, once exactly one does. */
function theHolder(db: Database): Promise<string> {
  return eventually(async () => {
    const holders = await lockHolders(db);
    return holders.length === 1 ? holders[0] : undefined;
  }, 15_000, 'one relay to hold the lock');
}

async function relaySessions(db: Database): Promise<string[]> {
  const { rows } = await db.pool.query<{ application_name: string }>(
    `SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'relay-%' ORDER BY 1`,
  );
  return rows.map((row) => row.application_name);
}

/**
 * About how many queries a session ran while fn ran: the distinct values of its state_change, which
 * moves with each query, sampled every 20 ms.
 */
async function queriesWhile(db: Database, applicationName: string, fn: () => Promise<unknown>): Promise<number> {
  const seen = new Set<string>();
  let running = true;
  const sampling = (async () => {
    while (running) {
      const { rows } = await db.pool.query<{ changed: string }>(
        `SELECT state_change::text AS changed FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
        [applicationName],
      );
      if (rows[0] !== undefined) seen.add(rows[0].changed);
      await sleep(20);
    }
  })();
  try {
    await fn();
  } finally {
    running = false;
    await sampling;
  }
  return seen.size;
}

/** Writes events at a steady pace in the background; `during` runs once `after` of them are written. */
async function writeWhile(db: Database, writer: EventWriter, count: number, after: number, during: () => Promise<void>): Promise<Written[]> {
  const written: Written[] = [];
  let duringDone: Promise<void> | undefined;
  for (let i = 0; i < count; i++) {
    if (i === after) duringDone = during();
    written.push(...(await writeEvents(db, writer, 1, [`b${i % 3}`])));
    await sleep(10);
  }
  await duringDone;
  return written;
}

test('two relays on one schema: one publishes, the other stands by and takes over when it stops; each event once, in order', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const { natsUrl } = await sharedServices();
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = writerFor(settings);
  const relays = new Map<string, StartedRelay>();
  for (const name of ['relay-a', 'relay-b']) relays.set(name, startRelay(t, { url, natsUrl, settings, name }));

  const holder = await theHolder(db);
  const standIn = holder === 'relay-a' ? 'relay-b' : 'relay-a';
  await eventually(async () => ((await relaySessions(db)).join() === 'relay-a,relay-b' ? true : undefined), 10_000, 'both relays to be up, one standing by');
  const writing = Date.now();
  const standInQueries = await queriesWhile(db, standIn, () => writeEvents(db, writer, 60));
  // It tries the lock every 2 s: one more for the sample taken before, one for a try in flight.
  const polls = Math.ceil((Date.now() - writing) / 2_000) + 2;
  await waitUntilPublished(db);
  assert.ok(standInQueries <= polls, `the stand-in tries the lock on its own clock, not at every commit (${standInQueries} queries, at most ${polls})`);
  assert.equal(await theHolder(db), holder, 'the stand-in did not take the lock while the holder lives');

  // Stop the publishing relay while events keep coming: the stand-in must carry on from where it was.
  await writeWhile(db, writer, 60, 20, () => relays.get(holder)!.relay.stop());
  await waitUntilPublished(db, 20_000, 'the stand-in to take over');
  assert.equal(await theHolder(db), standIn);
  await eventually(async () => ((await relaySessions(db)).join() === standIn ? true : undefined), 5_000, 'the stopped relay to leave Postgres');

  const received = await readStream(await natsClient(t, natsUrl), settings, 120);
  assertOnceInOrder(received, await outboxIds(db));
});

test('when the publishing relay loses its Postgres session, publishing goes on: each event once, in order', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const { natsUrl } = await sharedServices();
  const { db, url } = await outboxDatabase(t);
  const settings = testEventSettings();
  const writer = writerFor(settings);
  for (const name of ['relay-a', 'relay-b']) startRelay(t, { url, natsUrl, settings, name });
  const holder = await theHolder(db);

  // Its lock goes with the session, possibly while it publishes: either relay may take it next.
  await writeWhile(db, writer, 80, 30, async () => {
    const { rows } = await db.pool.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
      [holder],
    );
    await terminateSession(db, rows[0]!.pid);
  });
  await waitUntilPublished(db, 20_000, 'the outbox to drain after the lock changed hands');
  await theHolder(db);

  const received = await readStream(await natsClient(t, natsUrl), settings, 80);
  assertOnceInOrder(received, await outboxIds(db));
});
