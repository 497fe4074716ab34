import { headers as natsHeaders, type JetStreamClient } from 'nats';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { contextFromCarrier, traceCarrier, withSpan } from '../tracing';
import type { NatsLink } from './nats-link';
import { OUTBOX_CHANNEL } from './outbox';
import type { EventSettings } from './settings';

export interface RelayOptions {
  /** The service's Postgres URL. */
  url: string;
  /** The schema whose outbox this relay publishes. */
  schema: string;
  link: NatsLink;
  settings: EventSettings;
  logger: Logger;
  /** How often to look for rows when no notification came (a safety net). */
  pollIntervalMs?: number;
  /** Published rows are kept this long, for inspection, then deleted. */
  retainPublishedMs?: number;
}

interface OutboxRow {
  seq: string;
  id: string;
  subject: string;
  payload: unknown;
  headers: Record<string, string>;
}

/**
 * Publishes a schema's outbox to JetStream, oldest first, each row with Nats-Msg-Id = the event id,
 * and stamps it published only after JetStream acknowledged it. A crash between the two re-sends the
 * row, which JetStream drops as a duplicate inside its window: no event is lost, none is doubled.
 *
 * One relay per schema publishes at a time (a Postgres advisory lock), so several processes of one
 * service (agents on many hosts share a schema) keep the order; the others wait as stand-ins.
 */
export class OutboxRelay {
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly wakeup = new Wakeup();
  private readonly stopRequested: Promise<undefined>;
  private requestStop: () => void = () => undefined;
  private readonly encoder = new TextEncoder();

  constructor(private readonly options: RelayOptions) {
    this.stopRequested = new Promise((resolve) => (this.requestStop = () => resolve(undefined)));
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.requestStop();
    this.wakeup.wake();
    await this.running;
  }

  private async run(): Promise<void> {
    let delay = 250;
    while (!this.stopped) {
      const client = new Client({ connectionString: this.options.url, options: `-c search_path=${this.options.schema}` });
      client.on('error', () => undefined);
      try {
        await client.connect();
        if (await this.waitForLock(client)) {
          delay = 250;
          // Only now: a stand-in (agents on many hosts share a schema) would be woken by every commit
          // for nothing. A row committed before LISTEN is found by the first query that follows it.
          client.on('notification', (message) => {
            if (message.payload === this.options.schema) this.wakeup.wake();
          });
          await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
          await this.publishUntilStopped(client);
        }
      } catch (err) {
        if (!this.stopped) {
          this.options.logger.warn(`outbox relay: ${(err as Error).message}; retrying in ${delay} ms`);
          await this.idle(delay);
          delay = Math.min(delay * 2, 5_000);
        }
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }

  /** True once this relay holds the schema's lock; false if stopped first. */
  private async waitForLock(client: Client): Promise<boolean> {
    while (!this.stopped) {
      const result = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
        [`berth.outbox.${this.options.schema}`],
      );
      if (result.rows[0]!.locked) return true;
      await this.idle(2_000);
    }
    return false;
  }

  private async publishUntilStopped(client: Client): Promise<void> {
    const nc = await Promise.race([this.options.link.connectionReady(), this.stopRequested]);
    if (nc === undefined) return;
    const js = nc.jetstream();
    let lastCleanup = 0;
    while (!this.stopped) {
      const { rows } = await client.query<OutboxRow>(
        'SELECT seq, id, subject, payload, headers FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT 100',
      );
      // A row is stamped once JetStream acknowledged it, while the next one is being published: the
      // two round trips overlap. A crash re-sends at most those two, which JetStream drops as
      // duplicates (their Nats-Msg-Id).
      let stamping: Promise<unknown> = Promise.resolve();
      try {
        for (const row of rows) {
          if (!(await this.publishWithRetry(js, row))) return;
          await stamping;
          stamping = client.query('UPDATE outbox SET published_at = now() WHERE seq = $1', [row.seq]);
          // Awaited after the next publish; until then its failure must not count as unhandled.
          stamping.catch(() => undefined);
        }
      } finally {
        await stamping;
      }
      if (Date.now() - lastCleanup > 60_000) {
        lastCleanup = Date.now();
        await client.query(`DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)`, [
          (this.options.retainPublishedMs ?? 86_400_000) / 1000,
        ]);
      }
      if (rows.length === 0) await this.idle(this.options.pollIntervalMs ?? 1_000);
    }
  }

  /** Publishes one row until JetStream acknowledges it; false if stopped first. */
  private async publishWithRetry(js: JetStreamClient, row: OutboxRow): Promise<boolean> {
    let delay = 250;
    let warned = false;
    while (!this.stopped) {
      try {
        await this.publish(js, row);
        if (warned) this.options.logger.info('outbox relay: publishing again');
        return true;
      } catch (err) {
        if (!warned) this.options.logger.warn(`outbox relay: cannot publish yet (${(err as Error).message}); events wait in the outbox`);
        warned = true;
        await this.idle(delay);
        delay = Math.min(delay * 2, 5_000);
      }
    }
    return false;
  }

  private publish(js: JetStreamClient, row: OutboxRow): Promise<void> {
    return withSpan(
      `publish ${row.subject}`,
      {
        kind: 'producer',
        parent: contextFromCarrier(row.headers),
        attributes: { 'messaging.system': 'nats', 'messaging.destination.name': row.subject, 'messaging.message.id': row.id },
      },
      async () => {
        const headers = natsHeaders();
        for (const [key, value] of Object.entries(row.headers)) headers.set(key, value);
        // The publish span is the parent a consumer sees: carry it, not the writer's span.
        for (const [key, value] of Object.entries(traceCarrier())) headers.set(key, value);
        await js.publish(row.subject, this.encoder.encode(JSON.stringify(row.payload)), {
          msgID: row.id,
          headers,
          expect: { streamName: this.options.settings.stream },
          timeout: 5_000,
        });
      },
    );
  }

  /** Waits for a notification, a stop, or the timeout. */
  private idle(ms: number): Promise<void> {
    return this.stopped ? Promise.resolve() : this.wakeup.wait(ms);
  }
}

/**
 * What the relay sleeps on. A wake wakes every sleeper, and one that finds nobody asleep (a row
 * committed while the relay was querying or publishing) is kept for the next sleep, so a relay never
 * sleeps through a notification it got.
 */
class Wakeup {
  private readonly sleepers = new Set<() => void>();
  private pending = false;

  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  wake(): void {
    if (this.sleepers.size === 0) this.pending = true;
    for (const done of [...this.sleepers]) done();
  }
}
