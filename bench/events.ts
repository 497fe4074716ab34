import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connect } from 'nats';
import { migrate, openDatabase } from '../libs/db';
import { ensureStream, eventSubject, EventWriter, NatsLink, OutboxRelay, outboxMigrationsDir, subscribeEvents, type EventSettings } from '../libs/events';
import { createLogger } from '../libs/logging';
import { events } from '../libs/proto';
import { createDatabase, testEventSettings } from '../test/support';
import type { SharedServices } from '../test/support/shared';
import { scoped } from './scope';
import { summarize } from './stats';
import type { Row } from './table';

const LATENCY_EVENTS = 1_000;
const BURST_EVENTS = 5_000;
/** Events per transaction in the burst, as a busy service commits them. */
const BURST_BATCH = 50;
/** The goal: a change reaches a subscriber within 20 ms, at the 99th percentile. */
const P99_GOAL_SECONDS = 0.02;
const SCHEMA = 'bench_events';

/**
 * The path of every event: a change's transaction writes it to the outbox, the relay (woken by
 * NOTIFY) publishes it to JetStream, a subscriber receives it. Latency: one change at a time, from
 * its commit to its arrival, over 1,000 changes; its floor, as many events published straight to
 * JetStream one at a time (no outbox, no relay), from the publish call to their arrival at the same
 * subscriber. Throughput: 5,000 events committed at once (in transactions of 50), from the first
 * commit to the last arrival.
 */
export function benchEvents(shared: SharedServices): Promise<Row[]> {
  return scoped(async (defer) => {
    const logger = createLogger({ name: 'bench', level: 'warn' });
    const url = await createDatabase(shared.postgresAdminUrl, 'bench', defer);
    const db = openDatabase({ url, schema: SCHEMA, applicationName: 'bench-events' });
    defer(() => db.close());
    await migrate(db, [outboxMigrationsDir()], logger);
    const settings: EventSettings = testEventSettings();
    const link = new NatsLink({ url: shared.natsUrl, name: 'bench-relay', logger });
    link.onConnect((nc) => ensureStream(nc, settings));
    defer(() => link.close());
    const relay = new OutboxRelay({ url, schema: SCHEMA, link, settings, logger });
    relay.start();
    defer(() => relay.stop());
    const writer = new EventWriter('bench', 'bench-node', settings.subjectPrefix);

    const nc = await connect({ servers: shared.natsUrl });
    defer(() => nc.close());
    await ensureStream(nc, settings);
    const abort = new AbortController();
    defer(() => abort.abort());
    const arrivals = new Map<string, number>();
    let arrived: ((id: string) => void) | undefined;
    void (async () => {
      for await (const { event } of subscribeEvents(nc, { settings, signal: abort.signal })) {
        arrivals.set(event.actorId, performance.now());
        arrived?.(event.actorId);
      }
    })().catch(() => undefined);

    const commit = (actors: string[]) =>
      db.transaction(async (client) => {
        for (const actorId of actors) await writer.append(client, { type: 'bench', action: 'change', actorId, attributes: {} });
      });
    const arrivalOf = (actorId: string) =>
      new Promise<number>((resolve) => {
        if (arrivals.has(actorId)) return resolve(arrivals.get(actorId)!);
        arrived = (id) => id === actorId && resolve(arrivals.get(id)!);
      });

    // The subscriber is live once a first event reaches it.
    await commit(['warm-up']);
    await arrivalOf('warm-up');

    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_EVENTS; i++) {
      const actorId = randomUUID();
      await commit([actorId]);
      const committed = performance.now();
      latencies.push((await arrivalOf(actorId)) - committed);
    }
    const berthLatency = summarize(latencies.map((ms) => ms / 1000));

    // The floor of the latency: the same kind of event, published straight to the stream.
    const js = nc.jetstream();
    const floorSubject = eventSubject(settings.subjectPrefix, 'bench', 'floor');
    const floorLatencies: number[] = [];
    for (let i = 0; i < LATENCY_EVENTS; i++) {
      const actorId = randomUUID();
      const event: events.Event = { id: randomUUID(), time: new Date(), type: 'bench', action: 'floor', actorId, node: 'bench-node', attributes: {}, service: 'bench' };
      const arrival = arrivalOf(actorId);
      const published = performance.now();
      await js.publish(floorSubject, JSON.stringify(events.Event.toJSON(event)));
      floorLatencies.push((await arrival) - published);
    }
    const floorLatency = summarize(floorLatencies.map((ms) => ms / 1000));

    const burst = Array.from({ length: BURST_EVENTS }, () => randomUUID());
    const last = burst.at(-1)!;
    const started = performance.now();
    const done = arrivalOf(last);
    for (let i = 0; i < burst.length; i += BURST_BATCH) await commit(burst.slice(i, i + BURST_BATCH));
    const seconds = ((await done) - started) / 1000;
    const missing = burst.filter((id) => !arrivals.has(id)).length;
    if (missing > 0) throw new Error(`${missing} of the burst's events did not arrive`);

    // The floor: the same number of messages published straight to JetStream, each acknowledged.
    const floorStarted = performance.now();
    for (let i = 0; i < BURST_EVENTS; i++) await js.publish(floorSubject, JSON.stringify({ id: randomUUID() }));
    const floorSeconds = (performance.now() - floorStarted) / 1000;

    return [
      {
        id: 'events-latency',
        name: `event latency, commit to subscriber (${LATENCY_EVENTS.toLocaleString('en')} events)`,
        unit: 's',
        berth: berthLatency,
        floor: floorLatency,
        floorName: 'JetStream publish to subscriber',
        goal: { text: `p99 < ${P99_GOAL_SECONDS * 1000} ms`, met: berthLatency.p99 < P99_GOAL_SECONDS },
        detail: 'outbox → NOTIFY → relay → JetStream → subscriber, one change at a time',
      },
      {
        id: 'events-throughput',
        name: `events through the outbox (${BURST_EVENTS} at once)`,
        unit: 's',
        berth: summarize([seconds]),
        floor: summarize([floorSeconds]),
        floorName: 'as many JetStream publishes, each acknowledged',
        detail: `${Math.round(BURST_EVENTS / seconds)} events/s, each once, from the first commit to the last arrival (in transactions of ${BURST_BATCH})`,
      },
    ];
  });
}
