import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { runtime } from '../../../libs/proto';
import { berth, berthOk, eventually, requirePrerequisites, startRuntime, streamEvents } from '../../support';

const RUNTIME = { root: true, programs: ['runc', 'conmon'] };

async function state(env: NodeJS.ProcessEnv, container: string): Promise<string> {
  return (await berthOk(env, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', container])).trim();
}

test('the whole lifecycle: every verb, every state, each change an event in order', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const suite = await startRuntime(t);
  const { env } = suite;

  const id = (await berthOk(env, ['create', '--name', 'life', '--label', 'team=a', 'busybox:test', 'sleep', '1000'])).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(await state(env, 'life'), 'created 0');
  assert.equal(await state(env, id.slice(0, 8)), 'created 0', 'a unique id prefix names it');

  await berthOk(env, ['start', 'life']);
  assert.equal(await state(env, 'life'), 'running 0');
  await berthOk(env, ['pause', 'life']);
  assert.equal(await state(env, 'life'), 'paused 0');
  const pausedAgain = await berth(['pause', 'life'], env);
  assert.equal(pausedAgain.code, 1);
  assert.match(pausedAgain.stderr, /cannot pause container life: it is paused/);
  await berthOk(env, ['unpause', 'life']);
  // sleep as pid 1 ignores SIGTERM: stop waits its timeout, then kills.
  const stopStarted = Date.now();
  await berthOk(env, ['stop', '-t', '1', 'life']);
  assert.ok(Date.now() - stopStarted >= 1000, 'stop waited for the timeout');
  assert.equal(await state(env, 'life'), 'exited 137');

  await berthOk(env, ['start', 'life']);
  await berthOk(env, ['restart', '-t', '0', 'life']);
  assert.equal(await state(env, 'life'), 'running 0');
  await berthOk(env, ['kill', '-s', 'KILL', 'life']);
  await eventually(async () => ((await state(env, 'life')) === 'exited 137' ? true : undefined), 10_000, 'the killed container to exit');
  const killedAgain = await berth(['kill', 'life'], env);
  assert.match(killedAgain.stderr, /cannot kill container life: it is exited/);

  await berthOk(env, ['rename', 'life', 'life2']);
  const listed = await berthOk(env, ['ps', '-a', '--format', '{{.Names}} {{.State}} {{.Status}}', '--filter', 'label=team=a']);
  assert.match(listed, /^life2 exited Exited \(137\) .* ago\n$/);
  await berthOk(env, ['rm', 'life2']);
  const gone = await berth(['inspect', 'life2'], env);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no such object: life2/);
  assert.deepEqual(readdirSync(join(suite.runDir, 'attach')), [], "conmon's link to the container went with it");

  const events = (await streamEvents(env, 'container', 22)).filter((e) => e.actorId === id);
  assert.deepEqual(
    events.map((e) => e.action),
    ['create', 'start', 'pause', 'unpause', 'kill', 'kill', 'die', 'stop', 'start', 'kill', 'kill', 'die', 'stop', 'start', 'restart', 'kill', 'die', 'rename', 'destroy'],
  );
  assert.equal(events.find((e) => e.action === 'die')!.attributes.exitCode, '137');
  assert.equal(events[0]!.attributes.team, 'a', "events carry the container's labels");
  assert.equal(events.at(-1)!.attributes.name, 'life2');
});

test('run: output, exit codes, --rm, and what Docker refuses', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const { env } = await startRuntime(t);

  const hello = await berth(['run', '--rm', '-e', 'WHO=world', 'busybox:test', 'sh', '-c', 'echo hello $WHO; echo oops >&2; exit 3'], env);
  assert.equal(hello.code, 3, hello.stderr);
  assert.equal(hello.stdout, 'hello world\n');
  assert.equal(hello.stderr, 'oops\n');
  assert.equal((await berthOk(env, ['ps', '-aq'])).trim(), '', '--rm removed it');

  const missing = await berth(['run', '--name', 'nocmd', 'busybox:test', 'no-such-command'], env);
  assert.equal(missing.code, 127, missing.stderr);
  assert.match(missing.stderr, /no-such-command.*not found/);
  assert.equal(await state(env, 'nocmd'), 'created 127');
  // With --rm a start that fails for good ends the container too, as Docker's.
  const missingRm = await berth(['run', '--rm', '--name', 'nocmd-rm', 'busybox:test', 'no-such-command'], env);
  assert.equal(missingRm.code, 127, missingRm.stderr);
  await eventually(async () => ((await berth(['inspect', 'nocmd-rm'], env)).code !== 0 ? true : undefined), 10_000, 'the failed --rm container to go');

  const taken = await berth(['create', '--name', 'nocmd', 'busybox:test', 'true'], env);
  assert.equal(taken.code, 1);
  assert.match(taken.stderr, /the container name "nocmd" is already in use/);
  const unknownImage = await berth(['run', 'never/pulled:here', 'true'], env);
  assert.equal(unknownImage.code, 125);
  assert.match(unknownImage.stderr, /Unable to find image 'never\/pulled:here' locally/);
  const unknownContainer = await berth(['start', 'nobody-here'], env);
  assert.match(unknownContainer.stderr, /no such container: nobody-here/);
  for (const [flag, value, message] of [
    ['-m', '1k', /at least 6 MiB/],
    ['--cpus', '1000', /this host has \d+/],
    ['--restart', 'sometimes', /unknown restart policy/],
  ] as const) {
    const refused = await berth(['run', flag, value, 'busybox:test', 'true'], env);
    assert.equal(refused.code, 125, `${flag} ${value}`);
    assert.match(refused.stderr, message);
  }

  await berthOk(env, ['run', '-d', '--name', 'busy', 'busybox:test', 'sleep', '1000']);
  const running = await berth(['rm', 'busy'], env);
  assert.equal(running.code, 1);
  assert.match(running.stderr, /cannot remove container busy: it is running; stop it first, or force/);
  await berthOk(env, ['rm', '-f', 'busy']);
  const unknownFilter = await berth(['container', 'prune', '--filter', 'colour=red'], env);
  assert.equal(unknownFilter.code, 1);
  assert.match(unknownFilter.stderr, /invalid filter "colour": use label, until/);
  const pruned = await berthOk(env, ['container', 'prune']);
  assert.match(pruned, /Deleted Containers:\n[0-9a-f]{64}\n/);
  assert.equal((await berthOk(env, ['ps', '-aq'])).trim(), '');
});

test('wait: not-running at once, next-exit for the coming exit, removed for the removal', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const suite = await startRuntime(t);
  const wait = (container: string, condition: number) =>
    suite.call<runtime.WaitResponse>((c, m, o, cb) => c.wait({ container, condition }, m, o, cb));
  await berthOk(suite.env, ['create', '--name', 'waited', 'busybox:test', 'sh', '-c', 'sleep 1; exit 9']);
  assert.equal((await wait('waited', 0)).exitCode, 0, 'a created container is not running: at once');

  const nextExit = wait('waited', 1);
  const removal = wait('waited', 2);
  await berthOk(suite.env, ['start', 'waited']);
  assert.equal((await nextExit).exitCode, 9, 'next-exit waited for the run that had not begun');
  await berthOk(suite.env, ['rm', 'waited']);
  assert.equal((await removal).exitCode, 9, 'removed: once it is gone, with its last exit code');
});

