import { join } from 'node:path';
import { Client, Pool, type PoolClient } from 'pg';
import type { Logger } from 'pino';
import { unavailable } from '../errors';

export type { PoolClient } from 'pg';

export interface Database {
  pool: Pool;
  /** The schema this service owns; every connection's search_path starts with it. */
  schema: string;
  /** Runs fn in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T>;
  /** Whether Postgres answers, with its version or the reason it does not. */
  ping(timeoutMs?: number): Promise<{ ok: boolean; detail: string }>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  schema: string;
  /** Shown in pg_stat_activity: the service's name. */
  applicationName: string;
  maxConnections?: number;
}

/** A connection pool for one service, with its own schema first on the search path. */
export function openDatabase(options: DatabaseOptions): Database {
  if (!/^[a-z_][a-z0-9_]*$/.test(options.schema)) throw new Error(`invalid schema name ${options.schema}`);
  const pool = new Pool({
    connectionString: options.url,
    application_name: options.applicationName,
    max: options.maxConnections ?? 10,
    options: `-c search_path=${options.schema}`,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client that loses its server must not crash the service; the next query reconnects.
  pool.on('error', () => undefined);
  // Nor one in use: its query fails, and the client also emits 'error', which without a listener
  // would end the process (a Postgres restart with a transaction open did).
  pool.on('connect', (client) => client.on('error', () => undefined));

  return {
    pool,
    schema: options.schema,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    ping: (timeoutMs = 2_000) => ping(options, timeoutMs),
    close: () => pool.end(),
  };
}

/**
 * Asks Postgres for its version on a connection of its own, closed however the ping ends. Through the
 * pool, a ping that timed out would leave its connection attempt waiting on the server (until the
 * pool's connectionTimeoutMillis), holding close() up as long; and a pool busy with other work would
 * look like a Postgres that does not answer.
 */
async function ping(options: DatabaseOptions, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const client = new Client({ connectionString: options.url, application_name: options.applicationName, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    });
    const answer = client.connect().then(() => client.query<{ server_version: string }>('SHOW server_version'));
    const result = await Promise.race([answer, timeout]);
    return { ok: true, detail: `PostgreSQL ${result.rows[0]!.server_version}` };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  } finally {
    clearTimeout(timer);
    // On a connection still waiting for the server, end() destroys the socket instead of waiting.
    await client.end().catch(() => undefined);
  }
}

/**
 * node-pg-migrate reads only 13- and 17-digit prefixes as times and says so, as an error, about each
 * of Berth's yyyymmddhhmmss (14-digit) ones on every start. It then orders them by their numeric value,
 * which is the order intended, so the message is only noise.
 */
const NUMERIC_PREFIX_NOTICE = /^Can't determine timestamp for \d{14}$/;

/**
 * Brings the service's schema up to date with node-pg-migrate, from SQL files (`-- Up Migration`) in
 * the given directories, ordered by their numeric prefixes. Safe to run from many processes at once
 * (agents on many hosts share a schema): each waits for a blocking advisory lock, where
 * node-pg-migrate's own lock would make all but the first fail.
 */
export async function migrate(db: Database, directories: string[], logger: Logger): Promise<void> {
  const { runner } = await import('node-pg-migrate');
  let client: PoolClient;
  try {
    client = await db.pool.connect();
  } catch (err) {
    throw unavailable(`cannot connect to PostgreSQL: ${(err as Error).message}`, err);
  }
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`berth.migrate.${db.schema}`]);
    const applied = await runner({
      dbClient: client,
      schema: db.schema,
      createSchema: true,
      migrationsTable: 'migrations',
      // Several directories (the outbox's and the service's) need glob patterns in node-pg-migrate.
      dir: directories.map((directory) => join(directory, '*.sql')),
      useGlob: true,
      direction: 'up',
      checkOrder: true,
      singleTransaction: true,
      // Our lock above is per schema. node-pg-migrate's own is one for the whole database, taken
      // without waiting: services migrating their own schemas at once (as `berth up` starts them)
      // would fail with "Another migration is already running".
      noLock: true,
      logger: {
        debug: () => undefined,
        info: (message: string) => logger.debug({ schema: db.schema }, message),
        warn: (message: string) => logger.warn({ schema: db.schema }, message),
        error: (message: string) =>
          NUMERIC_PREFIX_NOTICE.test(message) ? logger.debug({ schema: db.schema }, message) : logger.error({ schema: db.schema }, message),
      },
    });
    if (applied.length > 0) {
      logger.info({ schema: db.schema, migrations: applied.map((m) => m.name) }, `migrated schema ${db.schema}`);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`berth.migrate.${db.schema}`]).catch(() => undefined);
    client.release();
  }
}
