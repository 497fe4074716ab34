import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from 'pg';
import { checkHealth, createClient, unaryCall } from '../../libs/grpc';
import { builder, imagestore, runtime, volume } from '../../libs/proto';
import { berthEnvironment, eventually, serviceEntry, sharedServices, testDatabase, testEventSettings } from '../support';

const SERVICES = [
  {
    name: 'image-store',
    schema: 'images',
    client: imagestore.ImageStoreServiceClient,
    tables: ['images', 'manifest_children', 'manifests', 'repo_digests', 'tags'],
  },
  { name: 'builder', schema: 'builds', client: builder.BuilderServiceClient, tables: [] },
  { name: 'runtime-agent', schema: 'runtime', client: runtime.RuntimeServiceClient, tables: [] },
  { name: 'volume', schema: 'volumes', client: volume.VolumeServiceClient, tables: [] },
] as const;

for (const service of SERVICES) {
  test(`${service.name}: starts with node <entry>, migrates its schema, serves Info, stops cleanly on SIGTERM`, { timeout: 60_000 }, async (t) => {
    const databaseUrl = await testDatabase(t);
    const { natsUrl } = await sharedServices();
    const events = testEventSettings();
    const stateDir = mkdtempSync(join(tmpdir(), `berth-${service.name}-`));
    const runDir = mkdtempSync(join(tmpdir(), `berth-${service.name}-run-`));
    t.after(() => {
      rmSync(stateDir, { recursive: true, force: true });
      rmSync(runDir, { recursive: true, force: true });
    });
    const child = spawn(process.execPath, [serviceEntry(service.name)], {
      env: berthEnvironment({
        BERTH_STATE_DIR: stateDir,
        BERTH_RUN_DIR: runDir,
        BERTH_POSTGRES_URL: databaseUrl,
        BERTH_NATS_URL: natsUrl,
        BERTH_EVENTS_STREAM: events.stream,
        BERTH_EVENTS_SUBJECT_PREFIX: events.subjectPrefix,
        BERTH_LOG_FORMAT: 'json',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });

    const endpoint = `unix://${runDir}/${service.name}.sock`;
    await eventually(
      async () => ((await checkHealth(endpoint, { deadlineMs: 500 }).catch(() => undefined)) === 'SERVING' ? true : undefined),
      30_000,
      `${service.name} to serve\n${output}`,
    );

    const client = createClient(service.client as typeof volume.VolumeServiceClient, endpoint, { deadlineMs: 5_000 });
    t.after(() => client.close());
    const info = async () => (await unaryCall<volume.InfoResponse>(endpoint, (m, o, cb) => client.info({}, m, o, cb))).info!;
    const first = await info();
    assert.equal(first.service, service.name);
    assert.equal(first.schema, service.schema);
    assert.equal(first.stateRoot, stateDir);
    assert.deepEqual(first.listen, [endpoint]);
    const postgres = first.dependencies.find((d) => d.name === 'postgres');
    assert.equal(postgres?.reachable, true, postgres?.detail);
    // NATS is connected in the background: a service serves while NATS is away.
    await eventually(async () => ((await info()).dependencies.find((d) => d.name === 'nats')?.reachable ? true : undefined), 10_000, 'NATS to be reachable');

    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    const tables = await db.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [service.schema],
    );
    await db.end();
    assert.deepEqual(tables.rows.map((r) => r.table_name), ['migrations', 'outbox', ...service.tables].sort());

    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);
    assert.equal(existsSync(`${runDir}/${service.name}.sock`), false, 'the socket is removed');
    assert.match(output, new RegExp(`"msg":"${service.name} stopped"`));
  });
}
