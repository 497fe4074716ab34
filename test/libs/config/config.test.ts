import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  ConfigError,
  listenAddresses,
  loadConfig,
  natsConnection,
  postgresUrl,
  redactUrl,
  serviceEndpoint,
  socketPath,
} from '../../../libs/config';

function configFile(t: TestContext, content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function assertConfigError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, message);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return true;
  });
}

test('defaults, then the file, then the environment', (t) => {
  const defaults = loadConfig({});
  assert.equal(defaults.stateDir, '/var/lib/berth');
  assert.equal(defaults.runDir, '/run/berth');
  assert.equal(defaults.events.stream, 'BERTH_EVENTS');
  assert.equal(defaults.events.subjectPrefix, 'berth.events');
  assert.equal(defaults.grpc.deadlineMs, 30_000);
  assert.equal(defaults.postgres.url, undefined);

  const file = configFile(t, { stateDir: '/srv/berth', log: { level: 'debug' }, events: { maxAgeSeconds: 60 } });
  const fromFile = loadConfig({ BERTH_CONFIG: file });
  assert.equal(fromFile.stateDir, '/srv/berth');
  assert.equal(fromFile.log.level, 'debug');
  assert.equal(fromFile.log.format, 'auto', 'defaults fill what the file leaves out');
  assert.equal(fromFile.events.maxAgeSeconds, 60);

  const fromEnvironment = loadConfig({
    BERTH_CONFIG: file,
    BERTH_STATE_DIR: '/data/berth',
    BERTH_VOLUME_LISTEN: '0.0.0.0:7001, [::1]:7002',
    BERTH_GRPC_DEADLINE_MS: '5000',
    BERTH_POSTGRES_URL: 'postgresql://berth:pw@db.example:5432/berth',
  });
  assert.equal(fromEnvironment.stateDir, '/data/berth', 'the environment wins over the file');
  assert.equal(fromEnvironment.log.level, 'debug');
  assert.deepEqual(fromEnvironment.services.volume.listen, ['0.0.0.0:7001', '[::1]:7002']);
  assert.equal(fromEnvironment.grpc.deadlineMs, 5000);
});

test('unknown keys and variables, and bad values, are one line naming where they came from', (t) => {
  const file = configFile(t, { stateDir: '/x', services: { volume: { bogus: 1 } } });
  assertConfigError(() => loadConfig({ BERTH_CONFIG: file }), new RegExp(`unknown config key "services\\.volume\\.bogus" in config file ${file}`));
  const top = configFile(t, { colour: 'blue' });
  assertConfigError(() => loadConfig({ BERTH_CONFIG: top }), /unknown config key "colour"/);
  assertConfigError(() => loadConfig({ BERTH_CONFIG: configFile(t, '{not json') }), /is not valid JSON/);
  assertConfigError(() => loadConfig({ BERTH_CONFIG: '/nonexistent/config.json' }), /cannot read config file \/nonexistent\/config\.json: ENOENT/);
  assertConfigError(() => loadConfig({ BERTH_STATE_DIRECTORY: '/x' }), /^unknown environment variable BERTH_STATE_DIRECTORY$/);
  for (const bad of ['not a url', 'http://db/berth', 'localhost:5432/berth']) {
    assertConfigError(() => loadConfig({ BERTH_POSTGRES_URL: bad }), /^invalid config: postgres\.url \(from BERTH_POSTGRES_URL\): is not a PostgreSQL URL/);
  }
  assertConfigError(() => loadConfig({ BERTH_NATS_URL: 'http://x' }), /nats\.url \(from BERTH_NATS_URL\): is not a NATS URL/);
  assertConfigError(() => loadConfig({ BERTH_GRPC_DEADLINE_MS: 'soon' }), /^BERTH_GRPC_DEADLINE_MS: "soon" is not a number$/);
  assertConfigError(() => loadConfig({ BERTH_STATE_DIR: 'relative/path' }), /stateDir \(from BERTH_STATE_DIR\): must be an absolute path/);
  assertConfigError(() => loadConfig({ BERTH_LOG_LEVEL: 'loud' }), /log\.level \(from BERTH_LOG_LEVEL\)/);
  assertConfigError(() => loadConfig({ BERTH_VOLUME_LISTEN: 'not-an-address' }), /services\.volume\.listen\.0 \(from BERTH_VOLUME_LISTEN\): must be HOST:PORT/);
});

test('derived paths: sockets, endpoints, the embedded Postgres and NATS', (t) => {
  const config = loadConfig({ BERTH_STATE_DIR: '/s', BERTH_RUN_DIR: '/r', BERTH_VOLUME_LISTEN: '0.0.0.0:7001' });
  assert.equal(socketPath(config, 'volume'), '/r/volume.sock');
  assert.deepEqual(listenAddresses(config, 'volume'), ['unix:///r/volume.sock', '0.0.0.0:7001']);
  assert.equal(serviceEndpoint(config, 'image-store'), 'unix:///r/image-store.sock');
  assert.equal(serviceEndpoint(loadConfig({ BERTH_IMAGE_STORE_ENDPOINT: 'dns:store.example:7000' }), 'image-store'), 'dns:store.example:7000');
  assert.equal(postgresUrl(config), 'postgresql://berth@localhost/berth?host=%2Fs%2Fpostgres%2Frun');
  assert.equal(postgresUrl(loadConfig({ BERTH_POSTGRES_URL: 'postgresql://u@db/x' })), 'postgresql://u@db/x');

  const stateDir = mkdtempSync(join(tmpdir(), 'berth-state-'));
  t.after(() => rmSync(stateDir, { recursive: true, force: true }));
  const embedded = loadConfig({ BERTH_STATE_DIR: stateDir, BERTH_EMBEDDED_NATS_PORT: '14222' });
  assert.deepEqual(natsConnection(embedded), { url: 'nats://127.0.0.1:14222', token: undefined, embedded: true });
  mkdirSync(join(stateDir, 'nats'));
  writeFileSync(join(stateDir, 'nats', 'token'), 'abc123\n');
  assert.equal(natsConnection(embedded).token, 'abc123');
  assert.deepEqual(natsConnection(loadConfig({ BERTH_NATS_URL: 'nats://n:4222', BERTH_NATS_TOKEN: 't' })), { url: 'nats://n:4222', token: 't', embedded: false });

  assert.equal(redactUrl('postgresql://berth:hunter2@db/berth'), 'postgresql://berth:***@db/berth');
});
