import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { berth, berthEnvironment, runCommand, serviceEntry, type CommandResult } from '../support';

/** One clear line on stderr, a non-zero exit, and no stack trace. */
function assertOneLineError(result: CommandResult, pattern: RegExp): void {
  assert.notEqual(result.code, 0, 'must fail');
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${result.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
}

test('an unknown key in the config file: one line naming it, exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ stateDir: dir, services: { volume: { bogus: true } } }));
  const env = berthEnvironment({ BERTH_CONFIG: file });

  const cli = await berth(['system', 'info'], env);
  assertOneLineError(cli, /^berth: unknown config key "services\.volume\.bogus" in config file .*config\.json$/);
  assert.equal(cli.code, 2);

  const service = await runCommand(process.execPath, [serviceEntry('volume')], env);
  assertOneLineError(service, /^volume: unknown config key "services\.volume\.bogus"/);
  assert.equal(service.code, 2);
});

test('a malformed BERTH_POSTGRES_URL: one line naming the variable, exit 2', async () => {
  const env = berthEnvironment({ BERTH_POSTGRES_URL: 'localhost:5432/berth' });
  const up = await berth(['up', '-d'], env);
  assertOneLineError(up, /^berth: invalid config: postgres\.url \(from BERTH_POSTGRES_URL\): is not a PostgreSQL URL/);
  assert.equal(up.code, 2);

  const service = await runCommand(process.execPath, [serviceEntry('image-store')], env);
  assertOneLineError(service, /^image-store: invalid config: postgres\.url \(from BERTH_POSTGRES_URL\)/);
});

test('an unknown BERTH_ variable and a bad flag are named', async () => {
  assertOneLineError(await berth(['system', 'info'], berthEnvironment({ BERTH_POSTGRESS_URL: 'x' })), /^berth: unknown environment variable BERTH_POSTGRESS_URL$/);
  assertOneLineError(await berth(['system', 'info', '--format', 'yaml'], berthEnvironment({})), /^berth: --format must be table or json/);
  assertOneLineError(await berth(['frobnicate'], berthEnvironment({})), /^berth: unknown command "frobnicate"/);
});
