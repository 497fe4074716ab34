import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { berth, berthOk, freePort, requirePrerequisites, startServices } from '../support';

test('berth certs makes a CA, node and client certificates; a service on TCP takes its clients and refuses others', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['openssl'] })) return;
  const dir = mkdtempSync(join(tmpdir(), 'berth-certs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const other = join(dir, 'other');
  const noEnv = { PATH: process.env.PATH ?? '' };
  await berthOk(noEnv, ['certs', 'ca', '--dir', dir]);
  await berthOk(noEnv, ['certs', 'node', 'host-a', '--address', '127.0.0.1', '--dir', dir]);
  await berthOk(noEnv, ['certs', 'client', 'ops', '--dir', dir]);
  await berthOk(noEnv, ['certs', 'ca', '--dir', other]);
  await berthOk(noEnv, ['certs', 'client', 'intruder', '--dir', other]);
  assert.equal(statSync(join(dir, 'ca.key')).mode & 0o777, 0o600);
  const again = await berth(['certs', 'ca', '--dir', dir], noEnv);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /exists already: a CA is made once/);

  const port = await freePort();
  const suite = await startServices(t, ['volume'], {
    BERTH_VOLUME_LISTEN: `127.0.0.1:${port}`,
    BERTH_TLS_CA: join(dir, 'ca.crt'),
    BERTH_TLS_CERT: join(dir, 'host-a.crt'),
    BERTH_TLS_KEY: join(dir, 'host-a.key'),
  });
  const remote = (client: string, ca: string) => ({ ...suite.env, BERTH_VOLUME_ENDPOINT: `127.0.0.1:${port}`, BERTH_TLS_CA: join(dir, 'ca.crt'), BERTH_TLS_CERT: join(ca, `${client}.crt`), BERTH_TLS_KEY: join(ca, `${client}.key`) });
  await berthOk(remote('ops', dir), ['volume', 'create', 'remote']);
  assert.match(await berthOk(remote('ops', dir), ['volume', 'ls', '-q']), /^remote$/m);
  const refused = await berth(['volume', 'ls'], { ...remote('intruder', other), BERTH_GRPC_DEADLINE_MS: '3000' });
  assert.notEqual(refused.code, 0, 'a certificate of another CA is refused');
});
