import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { migrate, openDatabase } from '../../../libs/db';
import { createLogger } from '../../../libs/logging';
import { testDatabase } from '../../support';

const logger = createLogger({ name: 'test', level: 'error', format: 'json' });

function migrations(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-migrations-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

test('migrate: creates the schema, applies SQL files once, safely from two processes at once', async (t) => {
  const url = await testDatabase(t);
  const dir = migrations(t, {
    '20260101000000_first.sql': '-- Up Migration\nCREATE TABLE things (id int PRIMARY KEY);\n-- Down Migration\nDROP TABLE things;\n',
    '20260102000000_second.sql': '-- Up Migration\nALTER TABLE things ADD COLUMN name text;\n',
  });
  const one = openDatabase({ url, schema: 'svc', applicationName: 'one' });
  const two = openDatabase({ url, schema: 'svc', applicationName: 'two' });
  t.after(() => Promise.all([one.close(), two.close()]));
  await Promise.all([migrate(one, [dir], logger), migrate(two, [dir], logger)]);
  await migrate(one, [dir], logger);
  const applied = await one.pool.query<{ name: string }>('SELECT name FROM svc.migrations ORDER BY run_on, name');
  assert.deepEqual(applied.rows.map((r) => r.name), ['20260101000000_first', '20260102000000_second']);

  // The search path starts with the service's schema: unqualified names live there.
  await one.pool.query("INSERT INTO things (id, name) VALUES (1, 'a')");
  assert.equal((await one.pool.query('SELECT name FROM svc.things')).rows[0].name, 'a');
  await one.pool.query('CREATE TABLE mine (x int)');
  const where = await one.pool.query<{ table_schema: string }>("SELECT table_schema FROM information_schema.tables WHERE table_name = 'mine'");
  assert.equal(where.rows[0]!.table_schema, 'svc');
});

test('transaction commits on success and rolls back on a throw; ping reports the server', async (t) => {
  const url = await testDatabase(t);
  const db = openDatabase({ url, schema: 'svc', applicationName: 'test' });
  t.after(() => db.close());
  await migrate(db, [migrations(t, { '20260101000000_t.sql': '-- Up Migration\nCREATE TABLE t (x int);\n' })], logger);
  await db.transaction((client) => client.query('INSERT INTO t VALUES (1)'));
  await assert.rejects(
    db.transaction(async (client) => {
      await client.query('INSERT INTO t VALUES (2)');
      throw new Error('no');
    }),
    /no/,
  );
  assert.deepEqual((await db.pool.query<{ x: number }>('SELECT x FROM t')).rows.map((r) => r.x), [1]);
  const ping = await db.ping();
  assert.equal(ping.ok, true);
  assert.match(ping.detail, /^PostgreSQL \d+/);

  const nowhere = openDatabase({ url: 'postgresql://berth@localhost/berth?host=/nonexistent', schema: 'svc', applicationName: 'test' });
  t.after(() => nowhere.close());
  const started = Date.now();
  const down = await nowhere.ping(1_000);
  assert.equal(down.ok, false);
  assert.ok(Date.now() - started < 3_000);
  await assert.rejects(migrate(nowhere, [], logger), (err: unknown) => (err as { kind?: string }).kind === 'unavailable');
});
