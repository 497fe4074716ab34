import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { Client } from 'pg';
import { createClient, unaryCall } from '../../libs/grpc';
import { builder, imagestore, runtime, volume } from '../../libs/proto';
import { eventually, startService } from '../support';

const SERVICES = [
  {
    name: 'image-store',
    schema: 'images',
    client: imagestore.ImageStoreServiceClient,
    tables: ['images', 'manifest_children', 'manifests', 'repo_digests', 'tags'],
  },
  { name: 'builder', schema: 'builds', client: builder.BuilderServiceClient, tables: ['cache_entries'] },
  { name: 'runtime-agent', schema: 'runtime', client: runtime.RuntimeServiceClient, tables: ['containers', 'endpoints', 'image_layers', 'networks', 'nodes', 'published_ports'] },
  { name: 'volume', schema: 'volumes', client: volume.VolumeServiceClient, tables: ['volume_uses', 'volumes'] },
] as const;

for (const service of SERVICES) {
  test(`${service.name}: starts with node <entry>, migrates its schema, serves Info, stops cleanly on SIGTERM`, { timeout: 60_000 }, async (t) => {
    const running = await startService(t, service.name);
    const { endpoint, stateDir, runDir } = running;
    const databaseUrl = running.env.BERTH_POSTGRES_URL!;

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

    assert.equal(await running.stop(), 0, running.output());
    assert.equal(existsSync(`${runDir}/${service.name}.sock`), false, 'the socket is removed');
    assert.match(running.output(), new RegExp(`"msg":"${service.name} stopped"`));
  });
}
