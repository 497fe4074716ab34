import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { berth, berthEnvironment, eventually, freePort, processesMentioning, removeNetworking, requirePrerequisites, testNetworkSettings } from '../support';

const SERVICES = ['image-store', 'builder', 'runtime-agent', 'volume'];

test('berth up -d starts the suite and the Docker Engine API, system info shows it healthy, berth down leaves nothing behind', { timeout: 240_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['nats-server', 'runc', 'conmon'] })) return;
  const stateDir = mkdtempSync(join(tmpdir(), 'berth-e2e-state-'));
  const runDir = mkdtempSync(join(tmpdir(), 'berth-e2e-run-'));
  const env = berthEnvironment({
    BERTH_STATE_DIR: stateDir,
    BERTH_RUN_DIR: runDir,
    BERTH_EMBEDDED_NATS_PORT: String(await freePort()),
    ...testNetworkSettings(),
  });
  t.after(async () => {
    await berth(['down'], env);
    await removeNetworking(stateDir, env);
    for (const { pid } of processesMentioning(stateDir)) process.kill(pid, 'SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });

  const started = await berth(['up', '-d'], env, 180_000);
  assert.equal(started.code, 0, `berth up -d failed:\n${started.stdout}${started.stderr}`);
  assert.match(started.stdout, /is up on node/);
  for (const service of SERVICES) assert.match(started.stdout, new RegExp(`${service}\\s+unix://${runDir}/${service}.sock`));
  assert.match(started.stdout, new RegExp(`docker-api\\s+unix://${runDir}/docker.sock`));

  await t.test("the Docker Engine API answers on the run directory's docker.sock, root only", async () => {
    const socketPath = join(runDir, 'docker.sock');
    assert.equal(statSync(socketPath).mode & 0o777, 0o600);
    const version = await new Promise<string>((resolve, reject) =>
      get({ socketPath, path: '/v1.41/version' }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.once('end', () => resolve(body));
      }).once('error', reject),
    );
    assert.equal((JSON.parse(version) as { ApiVersion: string }).ApiVersion, '1.41');
  });

  await t.test('a second berth up says one is running instead of starting twice', async () => {
    const again = await berth(['up', '-d'], env);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /^berth: berth is already running \(pid \d+/);
    assert.equal(again.stderr.trim().split('\n').length, 1);
  });

  const traceId = randomBytes(16).toString('hex');
  await t.test('system info shows every service healthy, with Postgres and NATS reachable', async () => {
    const info = await berth(['system', 'info', '--format', 'json'], {
      ...env,
      TRACEPARENT: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
    });
    assert.equal(info.code, 0, info.stderr);
    const report = JSON.parse(info.stdout) as {
      healthy: boolean;
      traceId: string;
      services: Array<{ service: string; health: string; info: { version: string; stateRoot: string } }>;
      dependencies: Array<{ name: string; reachable: boolean; detail: string }>;
    };
    assert.equal(report.healthy, true);
    assert.equal(report.traceId, traceId);
    assert.deepEqual(report.services.map((s) => s.service).sort(), [...SERVICES].sort());
    for (const service of report.services) {
      assert.equal(service.health, 'SERVING', service.service);
      assert.equal(service.info.stateRoot, stateDir);
    }
    const postgres = report.dependencies.find((d) => d.name === 'postgres');
    const nats = report.dependencies.find((d) => d.name === 'nats');
    assert.equal(postgres?.reachable, true, postgres?.detail);
    assert.match(postgres!.detail, /^PostgreSQL \d+/);
    assert.equal(nats?.reachable, true, nats?.detail);

    const table = await berth(['system', 'info'], env);
    assert.equal(table.code, 0, table.stderr);
    for (const service of SERVICES) assert.match(table.stdout, new RegExp(`^${service}\\s+\\S+\\s+\\S+\\s+serving`, 'm'));
  });

  await t.test("each service's log carries the trace id of the Info call", async () => {
    for (const service of SERVICES) {
      const line = await eventually(
        () =>
          readFileSync(join(stateDir, 'logs', `${service}.log`), 'utf8')
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as { trace_id?: string; rpc?: string })
            .find((l) => l.trace_id === traceId),
        10_000,
        `a ${service} log line with trace ${traceId}`,
      );
      assert.match(line.rpc ?? '', /\/Info$/);
    }
  });

  await t.test('berth down stops everything: no process, socket or pid file left', async () => {
    const stopped = await berth(['down'], env, 120_000);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /berth stopped/);
    assert.deepEqual(processesMentioning(stateDir), []);
    assert.deepEqual(readdirSync(runDir), []);
    const after = await berth(['down'], env);
    assert.equal(after.code, 0);
    assert.match(after.stdout, /not running/);
    assert.ok(existsSync(join(stateDir, 'postgres', 'data', 'PG_VERSION')), 'the embedded cluster stays for the next berth up');
  });
});
