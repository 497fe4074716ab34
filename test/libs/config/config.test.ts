import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parse as parseConnectionString } from 'pg-connection-string';
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

function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A config file holding content: JSON of a value, or a string as it is. */
function configFile(t: TestContext, content: unknown): string {
  const file = join(tempDir(t, 'berth-config-'), 'config.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** fn throws a ConfigError whose message is one line matching message. */
function assertConfigError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.doesNotMatch(err.message, /\n/, 'the message is one line');
    assert.match(err.message, message);
    return true;
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('defaults: state and run directories, event stream and subject prefix', () => {
  const config = loadConfig({});
  assert.equal(config.stateDir, '/var/lib/berth');
  assert.equal(config.runDir, '/run/berth');
  assert.equal(config.events.stream, 'BERTH_EVENTS');
  assert.equal(config.events.subjectPrefix, 'berth.events');
  assert.equal(config.grpc.deadlineMs, 30_000);
  assert.equal(config.log.level, 'info');
  assert.equal(config.postgres.url, undefined, 'no URL means the embedded Postgres');
  assert.deepEqual(config.services.volume.listen, []);
});

test('the file given by BERTH_CONFIG overrides the defaults, and BERTH_ variables override the file', (t) => {
  const file = configFile(t, { stateDir: '/srv/berth', runDir: '/srv/run', log: { level: 'debug' }, events: { stream: 'FROM_FILE' } });

  const fromFile = loadConfig({ BERTH_CONFIG: file });
  assert.equal(fromFile.stateDir, '/srv/berth');
  assert.equal(fromFile.log.level, 'debug');
  assert.equal(fromFile.log.format, 'auto', 'defaults fill in what the file leaves out of a section');
  assert.equal(fromFile.events.stream, 'FROM_FILE');
  assert.equal(fromFile.events.subjectPrefix, 'berth.events');

  const overridden = loadConfig({ BERTH_CONFIG: file, BERTH_STATE_DIR: '/data/berth', BERTH_EVENTS_STREAM: 'FROM_ENV' });
  assert.equal(overridden.stateDir, '/data/berth');
  assert.equal(overridden.events.stream, 'FROM_ENV');
  assert.equal(overridden.runDir, '/srv/run', 'what the environment leaves alone stays as the file says');
  assert.equal(overridden.log.level, 'debug');
});

test('list variables split on commas and number variables parse', () => {
  const config = loadConfig({
    BERTH_VOLUME_LISTEN: 'a:1,b:2',
    BERTH_REGISTRIES_INSECURE: ' r1.example:5000 , ,r2.example ',
    BERTH_GRPC_DEADLINE_MS: '5000',
    BERTH_EVENTS_MAX_BYTES: '-1',
    BERTH_EMBEDDED_NATS_PORT: ' 14222 ',
  });
  assert.deepEqual(config.services.volume.listen, ['a:1', 'b:2']);
  assert.deepEqual(config.registries.insecure, ['r1.example:5000', 'r2.example'], 'items are trimmed, empty ones dropped');
  assert.equal(config.grpc.deadlineMs, 5000);
  assert.equal(config.events.maxBytes, -1);
  assert.equal(config.embedded.natsPort, 14222);
});

test('an unknown key in the config file is one line naming the key and the file', (t) => {
  const top = configFile(t, { colour: 'blue' });
  assertConfigError(() => loadConfig({ BERTH_CONFIG: top }), new RegExp(`^unknown config key "colour" in config file ${escape(top)}$`));

  const nested = configFile(t, { stateDir: '/x', services: { volume: { bogus: 1 } } });
  assertConfigError(() => loadConfig({ BERTH_CONFIG: nested }), new RegExp(`^unknown config key "services\\.volume\\.bogus" in config file ${escape(nested)}$`));

  // An unknown key whose value is a section of its own was blamed on "defaults".
  const section = configFile(t, { colours: { sky: 'blue' } });
  assertConfigError(() => loadConfig({ BERTH_CONFIG: section }), new RegExp(`^unknown config key "colours" in config file ${escape(section)}$`));
});

test('a "__proto__" key in the config file is unknown and leaves Object.prototype alone', (t) => {
  const file = configFile(t, '{"__proto__": {"polluted": "yes"}}');
  assertConfigError(() => loadConfig({ BERTH_CONFIG: file }), new RegExp(`^unknown config key "__proto__" in config file ${escape(file)}$`));
  assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
  assert.equal(loadConfig({}).stateDir, '/var/lib/berth', 'later loads are unaffected');
});

test('an unknown BERTH_ variable is named', () => {
  assertConfigError(() => loadConfig({ BERTH_STATE_DIRECTORY: '/x' }), /^unknown environment variable BERTH_STATE_DIRECTORY$/);
  assert.equal(loadConfig({ PATH: '/bin', BERTHA: 'x' }).stateDir, '/var/lib/berth', 'other variables are not Berth\'s business');
});

test('a malformed BERTH_POSTGRES_URL is named', () => {
  // "postgresql://db.example" names no database: pg would quietly use one named after the user.
  for (const bad of ['not a url', 'http://x/y', 'localhost:5432/berth', 'postgresql://db.example', 'postgresql://db.example/', 'postgresql://h:99999/berth']) {
    assertConfigError(
      () => loadConfig({ BERTH_POSTGRES_URL: bad }),
      /^invalid config: postgres\.url \(from BERTH_POSTGRES_URL\): is not a PostgreSQL URL/,
    );
  }
  for (const good of ['postgresql://berth:pw@db.example:5432/berth', 'postgres://db.example/berth', 'postgresql:///berth?host=/run/postgresql']) {
    assert.equal(loadConfig({ BERTH_POSTGRES_URL: good }).postgres.url, good);
  }
});

test('a number variable holding text is named', () => {
  assertConfigError(() => loadConfig({ BERTH_GRPC_DEADLINE_MS: 'soon' }), /^BERTH_GRPC_DEADLINE_MS: "soon" is not a number$/);
  assertConfigError(() => loadConfig({ BERTH_EMBEDDED_NATS_PORT: '4222tcp' }), /^BERTH_EMBEDDED_NATS_PORT: "4222tcp" is not a number$/);
  assertConfigError(() => loadConfig({ BERTH_EVENTS_MAX_BYTES: '' }), /^BERTH_EVENTS_MAX_BYTES: "" is not a number$/);
  assertConfigError(() => loadConfig({ BERTH_GRPC_DEADLINE_MS: '1.5' }), /grpc\.deadlineMs \(from BERTH_GRPC_DEADLINE_MS\)/);
});

test('other bad values name the key and where it came from', (t) => {
  assertConfigError(() => loadConfig({ BERTH_STATE_DIR: 'relative/path' }), /^invalid config: stateDir \(from BERTH_STATE_DIR\): must be an absolute path$/);
  assertConfigError(() => loadConfig({ BERTH_LOG_LEVEL: 'loud' }), /^invalid config: log\.level \(from BERTH_LOG_LEVEL\)/);
  assertConfigError(() => loadConfig({ BERTH_NATS_URL: 'http://x' }), /^invalid config: nats\.url \(from BERTH_NATS_URL\): is not a NATS URL/);
  assertConfigError(() => loadConfig({ BERTH_VOLUME_LISTEN: 'a:1,nowhere' }), /^invalid config: services\.volume\.listen\.1 \(from BERTH_VOLUME_LISTEN\): must be HOST:PORT$/);
  // Half a section: the missing key is blamed on what created the section.
  assertConfigError(() => loadConfig({ BERTH_TLS_CA: '/etc/berth/ca.pem' }), /^invalid config: grpc\.tls\.cert \(from BERTH_TLS_CA\)/);

  const file = configFile(t, { services: { volume: { listen: ['nowhere'] } } });
  assertConfigError(() => loadConfig({ BERTH_CONFIG: file }), new RegExp(`services\\.volume\\.listen\\.0 \\(from config file ${escape(file)}\\)`));
  assertConfigError(() => loadConfig({ BERTH_CONFIG: configFile(t, '{"stateDir": ') }), /^config file .* is not valid JSON/);
  assertConfigError(() => loadConfig({ BERTH_CONFIG: configFile(t, '[1]') }), /must hold a JSON object$/);
  assertConfigError(() => loadConfig({ BERTH_CONFIG: '/nonexistent/config.json' }), /^cannot read config file \/nonexistent\/config\.json: ENOENT$/);
});

test('socketPath, listenAddresses and serviceEndpoint', () => {
  const config = loadConfig({ BERTH_RUN_DIR: '/r', BERTH_VOLUME_LISTEN: '0.0.0.0:7001', BERTH_IMAGE_STORE_ENDPOINT: 'dns:store.example:7000' });
  assert.equal(socketPath(config, 'volume'), '/r/volume.sock');
  assert.equal(socketPath(config, 'runtime-agent'), '/r/runtime-agent.sock');
  assert.deepEqual(listenAddresses(config, 'volume'), ['unix:///r/volume.sock', '0.0.0.0:7001'], 'the socket first, then TCP');
  assert.deepEqual(listenAddresses(config, 'builder'), ['unix:///r/builder.sock']);
  assert.equal(serviceEndpoint(config, 'volume'), 'unix:///r/volume.sock');
  assert.equal(serviceEndpoint(config, 'image-store'), 'dns:store.example:7000');
});

test('postgresUrl: the external URL, else the embedded Postgres through its socket directory', () => {
  const external = 'postgresql://u:pw@db.example/berth';
  assert.equal(postgresUrl(loadConfig({ BERTH_POSTGRES_URL: external })), external);

  const embedded = postgresUrl(loadConfig({ BERTH_STATE_DIR: '/s' }));
  assert.equal(embedded, 'postgresql://berth@localhost/berth?host=%2Fs%2Fpostgres%2Frun');
  const parsed = parseConnectionString(embedded);
  assert.equal(parsed.host, '/s/postgres/run', 'pg connects to the socket directory, not to localhost');
  assert.equal(parsed.database, 'berth');
  assert.equal(parsed.user, 'berth');
});

test('natsConnection: the external URL and token, else the embedded NATS with its token file', (t) => {
  assert.deepEqual(natsConnection(loadConfig({ BERTH_NATS_URL: 'nats://n.example:4222', BERTH_NATS_TOKEN: 't0k' })), {
    url: 'nats://n.example:4222',
    token: 't0k',
    embedded: false,
  });

  const stateDir = tempDir(t, 'berth-state-');
  const config = loadConfig({ BERTH_STATE_DIR: stateDir, BERTH_EMBEDDED_NATS_PORT: '14222' });
  assert.deepEqual(natsConnection(config), { url: 'nats://127.0.0.1:14222', token: undefined, embedded: true }, 'no token file yet');
  mkdirSync(join(stateDir, 'nats'));
  writeFileSync(join(stateDir, 'nats', 'token'), 'abc123\n');
  assert.deepEqual(natsConnection(config), { url: 'nats://127.0.0.1:14222', token: 'abc123', embedded: true });
});

test('redactUrl hides a password wherever a URL carries one', () => {
  assert.equal(redactUrl('postgresql://berth:hunter2@db/berth'), 'postgresql://berth:***@db/berth');
  assert.equal(redactUrl('postgresql://berth:p%40ss@db:5432/berth?sslmode=require'), 'postgresql://berth:***@db:5432/berth?sslmode=require');
  assert.equal(redactUrl('postgresql://berth:a@b@db/berth'), 'postgresql://berth:***@db/berth', 'the user information ends at the last @');
  // Forms libpq accepts but WHATWG URL refuses or does not see as a password: these were returned whole.
  assert.equal(redactUrl('postgresql://berth:hunter2@/berth?host=/run/pg'), 'postgresql://berth:***@/berth?host=/run/pg');
  assert.equal(redactUrl('postgresql://berth@db/berth?password=hunter2&sslmode=require'), 'postgresql://berth@db/berth?password=***&sslmode=require');
  for (const plain of ['postgresql://berth@db:5432/berth', 'postgresql://db:5432/berth', 'nats://127.0.0.1:4222', 'not a url']) {
    assert.equal(redactUrl(plain), plain);
  }
});
