import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../libs/config';
import { repoRoot, requirePrerequisites } from '../support';

const deploy = join(repoRoot(), 'deploy');

test('the three-host example: every host file is a valid config, mutual TLS and the shared Postgres and NATS set', () => {
  const files = readdirSync(join(deploy, 'cluster')).filter((name) => name.endsWith('.json'));
  assert.deepEqual(files.sort(), ['central.json', 'host-a.json', 'host-b.json', 'host-c.json']);
  for (const file of files) {
    const config = loadConfig({ BERTH_CONFIG: join(deploy, 'cluster', file) });
    assert.equal(config.node, file.replace(/\.json$/, ''));
    assert.ok(config.grpc.tls !== undefined, `${file}: TCP only with mutual TLS`);
    assert.match(config.postgres.url ?? '', /^postgres:\/\//);
    assert.match(config.nats.url ?? '', /^nats:\/\//);
    if (file !== 'central.json') assert.equal(config.services.imageStore.endpoint, '10.0.0.10:7401', `${file} reaches the central image-store`);
  }
});

test('the systemd units are valid; the agent is stopped alone, so that its containers live on', (t) => {
  if (!requirePrerequisites(t, { programs: ['systemd-analyze'] })) return;
  const units = readdirSync(join(deploy, 'systemd')).map((name) => join(deploy, 'systemd', name));
  assert.equal(units.length, 6);
  const verified = spawnSync('systemd-analyze', ['verify', '--man=no', ...units], { encoding: 'utf8' });
  // Complaints about the checkout not being installed in /opt/berth on this machine are not errors of the units.
  const problems = verified.stderr.split('\n').filter((line) => line.trim() !== '' && !/\/opt\/berth|is not executable|No such file/.test(line));
  assert.deepEqual(problems, []);
  const agent = readFileSync(join(deploy, 'systemd', 'berth-runtime-agent.service'), 'utf8');
  assert.match(agent, /^KillMode=process$/m);
  assert.match(agent, /^Delegate=yes$/m);
});
