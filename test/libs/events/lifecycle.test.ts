/**
 * Stopping: relay.stop() and link.close() must leave no timer, connection or unhandled rejection, so a
 * service (or a test) ends when its work does, not a minute later or with a crash.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { eventually, freePort, requirePrerequisites, sharedServices, testDatabase, testEventSettings } from '../../support';

/** Runs the fixture, and fails unless it ends by itself, successfully, within 3 s of closing everything. */
async function runToTheEnd(t: TestContext, args: string[]): Promise<void> {
  const child = spawn(process.execPath, [join(__dirname, 'fixtures', 'stop-and-exit.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A fixture that hangs must not outlive the test.
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  await eventually(() => (stdout.includes('stopped') || child.exitCode !== null ? true : undefined), 25_000, 'the fixture to stop');
  assert.ok(stdout.includes('stopped'), `the fixture failed:\n${stderr}`);
  const code = await Promise.race([exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 3_000))]);
  assert.notEqual(code, 'running', 'the process still runs 3 s after everything was stopped and closed');
  assert.equal(code, 0, `the process failed:\n${stderr}`);
  assert.equal(stderr, '');
}

test('a process whose relays (one publishing, one standing by) stopped and link closed ends by itself at once', { timeout: 40_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['nats-server'] })) return;
  const { natsUrl } = await sharedServices();
  const settings = testEventSettings();
  await runToTheEnd(t, ['relays', await testDatabase(t), natsUrl, settings.stream, settings.subjectPrefix]);
});

test('a link closed before it ever reached NATS ends quietly: no crash, no timer left', { timeout: 30_000 }, async (t) => {
  await runToTheEnd(t, ['unreachable', `nats://127.0.0.1:${await freePort()}`]);
});
