import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  berth,
  berthBin,
  eventually,
  processesMentioning,
  removeNetworking,
  requirePrerequisites,
  testEnvironment,
} from '../support';

test('berth up in the foreground with an external Postgres and NATS: streams logs, stops in order on Ctrl-C', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon'] })) return;
  const stateDir = mkdtempSync(join(tmpdir(), 'berth-fg-state-'));
  const runDir = mkdtempSync(join(tmpdir(), 'berth-fg-run-'));
  let up: ChildProcess | undefined;
  t.after(async () => {
    if (up?.exitCode === null) process.kill(-up.pid!, 'SIGKILL');
    for (const { pid } of processesMentioning(stateDir)) process.kill(pid, 'SIGKILL');
    await removeNetworking(stateDir, env);
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });
  const env = await testEnvironment(t, stateDir, runDir);
  // Its own process group, as a shell gives a foreground job: Ctrl-C signals the whole group.
  const child = spawn(process.execPath, [berthBin(), 'up'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  up = child;
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  await eventually(() => (output.includes('is up on node') ? true : undefined), 120_000, `berth up to be ready:\n${output}`);
  // Each service's lines are streamed, prefixed with its name and formatted for a person.
  for (const service of ['image-store', 'builder', 'runtime-agent', 'volume']) {
    assert.match(output, new RegExp(`^${service}\\s+\\| .*${service} 0\\.\\d+\\.\\d+ ready`, 'm'));
  }
  assert.equal(existsSync(join(stateDir, 'postgres')), false, 'no embedded Postgres with BERTH_POSTGRES_URL');
  assert.equal(existsSync(join(stateDir, 'nats')), false, 'no embedded NATS with BERTH_NATS_URL');

  const info = await berth(['system', 'info', '--format', 'json'], env);
  assert.equal(info.code, 0, info.stderr);
  assert.equal((JSON.parse(info.stdout) as { healthy: boolean }).healthy, true);

  process.kill(-child.pid!, 'SIGINT');
  assert.equal(await exited, 0, output);
  const stops = [...output.matchAll(/^berth\s+\| .*INFO: stopping (\S+)$/gm)].map((m) => m[1]);
  assert.deepEqual(stops, ['berth', 'docker-api', 'builder', 'runtime-agent', 'volume', 'image-store']);
  // The services were stopped by berth up, one by one, not by the terminal's SIGINT.
  assert.match(output, /SIGTERM: stopping builder/);
  assert.doesNotMatch(output, /SIGINT: stopping/);
  assert.deepEqual(processesMentioning(stateDir), []);
});
