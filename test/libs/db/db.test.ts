import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { migrate, openDatabase, type Database } from '../../../libs/db';
import { isBerthError } from '../../../libs/errors';
import { createLogger, type Logger } from '../../../libs/logging';
import { eventually, testDatabase } from '../../support';

/** A logger at debug level, and the levels and messages of what it wrote. */
function capturingLogger(): { logger: Logger; lines: () => Array<{ level: string; msg: string }> } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return {
    logger: createLogger({ name: 'test', level: 'debug', format: 'json', destination: stream }),
    lines: () => text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { level: string; msg: string }),
  };
}

const quiet = createLogger({ name: 'test', level: 'fatal', format: 'json' });

/** A directory of migration files, removed after the test. */
function migrationsDir(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-migrations-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

/** A database of its own for the test, closed after it. */
async function open(t: TestContext, options: { schema?: string; maxConnections?: number; url?: string } = {}): Promise<Database> {
  const db = openDatabase({ url: options.url ?? (await testDatabase(t)), schema: options.schema ?? 'svc', applicationName: 'test', maxConnections: options.maxConnections });
  t.after(() => db.close());
  return db;
}

async function appliedMigrations(db: Database): Promise<string[]> {
  const result = await db.pool.query<{ name: string }>(`SELECT name FROM ${db.schema}.migrations ORDER BY id`);
  return result.rows.map((row) => row.name);
}

// Berth's migration names: a yyyymmddhhmmss prefix. Each fails if it runs twice.
const FIRST = { '20260101000000_first.sql': '-- Up Migration\nCREATE TABLE things (id int PRIMARY KEY);\nINSERT INTO things VALUES (1);\n' };
const SECOND = { '20260102000000_second.sql': '-- Up Migration\nALTER TABLE things ADD COLUMN name text;\n' };

test('migrate creates the schema and applies the SQL files in order, without complaint', async (t) => {
  const db = await open(t);
  const log = capturingLogger();
  // Written out of order: the numeric prefix decides.
  await migrate(db, [migrationsDir(t, { ...SECOND, ...FIRST })], log.logger);

  assert.deepEqual(await appliedMigrations(db), ['20260101000000_first', '20260102000000_second']);
  const columns = await db.pool.query<{ column_name: string }>(
    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'svc' AND table_name = 'things' ORDER BY ordinal_position",
  );
  assert.deepEqual(columns.rows.map((row) => row.column_name), ['id', 'name']);
  // node-pg-migrate used to log an error about each 14-digit prefix on every run.
  const complaints = log.lines().filter((line) => line.level === 'error' || line.level === 'warn');
  assert.deepEqual(complaints, []);
  assert.ok(log.lines().some((line) => line.level === 'info' && line.msg === 'migrated schema svc'));
});

test('migrate again is a no-op, and applies only what is new', async (t) => {
  const db = await open(t);
  const dir = migrationsDir(t, FIRST);
  await migrate(db, [dir], quiet);
  const log = capturingLogger();
  await migrate(db, [dir], log.logger);
  assert.deepEqual(await appliedMigrations(db), ['20260101000000_first']);
  assert.equal(log.lines().filter((line) => line.level === 'info').length, 0, 'nothing to report');

  writeFileSync(join(dir, Object.keys(SECOND)[0]!), Object.values(SECOND)[0]!);
  await migrate(db, [dir], quiet);
  assert.deepEqual(await appliedMigrations(db), ['20260101000000_first', '20260102000000_second']);
  assert.equal((await db.pool.query('SELECT * FROM svc.things')).rowCount, 1);
});

test('two migrate() calls at once both succeed and apply each migration once', async (t) => {
  const url = await testDatabase(t);
  // Two pools, as two processes (agents on two hosts) would have.
  const one = await open(t, { url });
  const two = await open(t, { url });
  const dir = migrationsDir(t, { ...FIRST, ...SECOND });
  await Promise.all([migrate(one, [dir], quiet), migrate(two, [dir], quiet)]);
  assert.deepEqual(await appliedMigrations(one), ['20260101000000_first', '20260102000000_second']);
  assert.equal((await one.pool.query('SELECT * FROM svc.things')).rowCount, 1);
});

test('services with schemas of their own can migrate one database at once', async (t) => {
  // As under `berth up`, where every service starts together against the embedded database.
  const url = await testDatabase(t);
  const services = await Promise.all(['image_store', 'builder', 'runtime_agent', 'volume'].map((schema) => open(t, { url, schema })));
  const dir = migrationsDir(t, { ...FIRST, ...SECOND });
  await Promise.all(services.map((db) => migrate(db, [dir], quiet)));
  for (const db of services) assert.deepEqual(await appliedMigrations(db), ['20260101000000_first', '20260102000000_second'], db.schema);
});

test('migrations from several directories run in the order of their prefixes, across directories', async (t) => {
  const db = await open(t);
  const late = migrationsDir(t, SECOND);
  const early = migrationsDir(t, FIRST);
  await migrate(db, [late, early], quiet);
  assert.deepEqual(await appliedMigrations(db), ['20260101000000_first', '20260102000000_second']);
});

test('a failing migration rolls back the whole run', async (t) => {
  const db = await open(t);
  const dir = migrationsDir(t, { ...FIRST, '20260102000000_broken.sql': '-- Up Migration\nALTER TABLE nowhere ADD COLUMN x int;\n' });
  await assert.rejects(migrate(db, [dir], quiet), /nowhere/);
  const things = await db.pool.query("SELECT 1 FROM information_schema.tables WHERE table_schema = 'svc' AND table_name = 'things'");
  assert.equal(things.rowCount, 0, 'the first migration was rolled back with the second');
});

test("the search path puts the service's schema first", async (t) => {
  const url = await testDatabase(t);
  const volume = await open(t, { url, schema: 'volume' });
  const builder = await open(t, { url, schema: 'builder' });
  await migrate(volume, [migrationsDir(t, {})], quiet);
  await migrate(builder, [migrationsDir(t, {})], quiet);

  assert.match((await volume.pool.query<{ search_path: string }>('SHOW search_path')).rows[0]!.search_path, /^volume\b/);
  await volume.pool.query('CREATE TABLE mine (x int)');
  const where = await volume.pool.query<{ table_schema: string }>("SELECT table_schema FROM information_schema.tables WHERE table_name = 'mine'");
  assert.deepEqual(where.rows.map((row) => row.table_schema), ['volume']);
  // The same unqualified name in another service's schema is another table.
  await builder.pool.query('CREATE TABLE mine (y text)');
  await builder.pool.query("INSERT INTO mine VALUES ('b')");
  assert.equal((await volume.pool.query('SELECT * FROM mine')).rowCount, 0);
});

test('transaction commits when fn resolves, and returns its value', async (t) => {
  const db = await open(t);
  await migrate(db, [migrationsDir(t, FIRST)], quiet);
  const result = await db.transaction(async (client) => {
    await client.query('INSERT INTO things VALUES (2)');
    await client.query('INSERT INTO things VALUES (3)');
    return 'done';
  });
  assert.equal(result, 'done');
  const ids = await db.pool.query<{ id: number }>('SELECT id FROM things ORDER BY id');
  assert.deepEqual(ids.rows.map((row) => row.id), [1, 2, 3]);
});

test('transaction rolls back when fn throws, rethrows, and gives its connection back', async (t) => {
  const db = await open(t, { maxConnections: 1 });
  await migrate(db, [migrationsDir(t, FIRST)], quiet);
  const failure = new Error('changed my mind');
  await assert.rejects(
    db.transaction(async (client) => {
      await client.query('INSERT INTO things VALUES (2)');
      throw failure;
    }),
    (err: unknown) => err === failure,
  );
  // With one connection in the pool, this waits forever if the transaction kept it; and it would see
  // row 2 if that connection were still inside the transaction.
  const ids = await db.pool.query<{ id: number }>('SELECT id FROM things ORDER BY id');
  assert.deepEqual(ids.rows.map((row) => row.id), [1]);
});

test('ping reports ok with the server version', async (t) => {
  const db = await open(t);
  const version = (await db.pool.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  assert.deepEqual(await db.ping(), { ok: true, detail: `PostgreSQL ${version}` });
});

test('ping reports not ok within its timeout from a server that never answers, and leaves nothing behind', async (t) => {
  // Accepts connections, reads what it is sent and says nothing, as a hung Postgres would.
  const sockets: Socket[] = [];
  const silent = createServer((socket) => {
    sockets.push(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const { port } = silent.address() as { port: number };
  const db = openDatabase({ url: `postgresql://berth@127.0.0.1:${port}/berth`, schema: 'svc', applicationName: 'test' });

  const started = performance.now();
  const result = await db.ping(300);
  const elapsed = performance.now() - started;
  assert.deepEqual(result, { ok: false, detail: 'no answer in 300 ms' });
  assert.ok(elapsed >= 290 && elapsed < 1_000, `answered after ${Math.round(elapsed)} ms`);

  // Closing used to wait for the ping's connection attempt to time out in the pool (10 s).
  const closing = performance.now();
  await db.close();
  assert.ok(performance.now() - closing < 1_000, `closed after ${Math.round(performance.now() - closing)} ms`);
  assert.equal(sockets.length, 1, 'one connection attempt');
  await eventually(() => (sockets[0]!.closed ? true : undefined), 2_000, 'the ping to hang up');
});

test('ping and migrate report a socket directory where no Postgres listens', async () => {
  const db = openDatabase({ url: 'postgresql://berth@localhost/berth?host=/nonexistent', schema: 'svc', applicationName: 'test' });
  try {
    const result = await db.ping(1_000);
    assert.equal(result.ok, false);
    assert.match(result.detail, /ENOENT/);
    await assert.rejects(migrate(db, [], quiet), (err: unknown) => isBerthError(err, 'unavailable') && /cannot connect to PostgreSQL/.test(err.message));
  } finally {
    await db.close();
  }
});
