import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runtime } from '../../../libs/proto';
import { berth, berthOk, eventually, requirePrerequisites, startRuntime, streamEvents } from '../../support';

const RUNTIME = { root: true, programs: ['runc', 'conmon'] };

test('a health check turns healthy, then unhealthy, with health_status events', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const { env } = await startRuntime(t);
  const id = (
    await berthOk(env, ['run', '-d', '--name', 'checked', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '200ms', '--health-retries', '2',
      'busybox:test', 'sh', '-c', 'touch /tmp/ok; sleep 1000'])
  ).trim();
  const health = () => berthOk(env, ['inspect', '-f', '{{.State.Health.Status}}', 'checked']).then((s) => s.trim());
  await eventually(async () => ((await health()) === 'healthy' ? true : undefined), 15_000, 'healthy');
  assert.match(await berthOk(env, ['ps', '--format', '{{.Status}}']), /\(healthy\)/);
  await berthOk(env, ['exec', 'checked', 'rm', '/tmp/ok']);
  await eventually(async () => ((await health()) === 'unhealthy' ? true : undefined), 15_000, 'unhealthy');
  const statuses = (await streamEvents(env, 'container', 100, 3_000)).filter((e) => e.actorId === id && e.action === 'health_status').map((e) => e.attributes.health_status);
  assert.deepEqual(statuses, ['healthy', 'unhealthy']);
});

test('exec: exit codes, stdin, environment, user and working directory; stats and top', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const suite = await startRuntime(t);
  const { env } = suite;
  await berthOk(env, ['run', '-d', '--name', 'host', '-e', 'BASE=1', 'busybox:test', 'sleep', '1000']);
  assert.equal((await berth(['exec', 'host', 'sh', '-c', 'exit 42'], env)).code, 42);
  const missing = await berth(['exec', 'host', 'nope'], env);
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /nope/);
  assert.equal(await berthOk(env, ['exec', '-e', 'EXTRA=2', '-w', '/tmp', '-u', 'nobody', 'host', 'sh', '-c', 'echo $BASE$EXTRA $(pwd) $(id -u)']), '12 /tmp 65534\n');
  // -e NAME takes NAME's value from the caller's environment, and is left out when it has none; the
  // agent never fills one from its own (which holds its database URL).
  const caller = { ...env, FROM_CALLER: 'yes' };
  assert.equal(await berthOk(caller, ['run', '--rm', '-e', 'FROM_CALLER', '-e', 'NOT_SET_ANYWHERE', 'busybox:test', 'sh', '-c', 'echo $FROM_CALLER; env | grep -c NOT_SET_ANYWHERE || true']), 'yes\n0\n');
  assert.equal(await berthOk(caller, ['exec', '-e', 'FROM_CALLER', 'host', 'sh', '-c', 'echo $FROM_CALLER']), 'yes\n');
  const bare = runtime.CreateRequest.fromPartial({ config: { image: 'busybox:test', cmd: { values: ['env'] }, env: ['BERTH_POSTGRES_URL'] } });
  const { id: bareId } = await suite.call<runtime.CreateResponse>((client, m, o, cb) => client.create(bare, m, o, cb));
  await berthOk(env, ['start', '-a', bareId]);
  const printed = await berthOk(env, ['logs', bareId]);
  assert.doesNotMatch(printed, /BERTH_POSTGRES_URL/, "a bare name never takes the agent's value");
  const piped = await berth(['exec', '-i', 'host', 'wc', '-c'], env, 30_000, 'twelve bytes');
  assert.equal(piped.stdout.trim(), '12', piped.stderr);

  const stats = JSON.parse(await berthOk(env, ['stats', '--no-stream', '--format', 'json', 'host'])) as { pids: number; memoryUsage: number };
  assert.equal(stats.pids, 1);
  assert.ok(stats.memoryUsage > 0);
  assert.match(await berthOk(env, ['top', 'host']), /UID\s+PID\s+PPID.*\n.*sleep 1000/);
  const stopped = await berth(['exec', 'host', 'true'], env).then(async () => {
    await berthOk(env, ['kill', 'host']);
    await berthOk(env, ['wait', 'host']);
    return berth(['exec', 'host', 'true'], env);
  });
  assert.match(stopped.stderr, /cannot exec in container host: it is exited/);
});

test('attach: run -i feeds stdin, run -t gives a terminal, attach joins a running container; exec -t and -it', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const { env } = await startRuntime(t);
  const piped = await berth(['run', '-i', '--rm', 'busybox:test', 'sh', '-c', 'cat; echo done'], env, 30_000, 'line one\nline two\n');
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stdout, 'line one\nline two\ndone\n');

  const terminal = await berth(['run', '-t', '--rm', 'busybox:test', 'sh', '-c', 'test -t 0 && test -t 1 && echo has-tty; exit 4'], env);
  assert.equal(terminal.code, 4);
  assert.equal(terminal.stdout, 'has-tty\r\n', 'a terminal ends lines with CR LF');

  await berthOk(env, ['run', '-d', '-i', '--name', 'talker', 'busybox:test', 'sh', '-c', 'read line; echo got $line; exit 7']);
  const attached = await berth(['attach', 'talker'], env, 30_000, 'hello\n');
  assert.equal(attached.code, 7, attached.stderr);
  assert.equal(attached.stdout, 'got hello\n');
  assert.equal(await berthOk(env, ['logs', 'talker']), 'got hello\n', 'what attach saw is in the log too');

  await berthOk(env, ['run', '-d', '--name', 'shell', 'busybox:test', 'sleep', '1000']);
  const execTty = await berth(['exec', '-t', 'shell', 'sh', '-c', 'test -t 0 && test -t 1 && echo exec-tty; exit 6'], env);
  assert.equal(execTty.code, 6, execTty.stderr);
  assert.equal(execTty.stdout, 'exec-tty\r\n');
  const execTalk = await berth(['exec', '-it', 'shell', 'sh', '-c', 'read line; echo got $line'], env, 30_000, 'typed\n');
  assert.equal(execTalk.code, 0, execTalk.stderr);
  assert.match(execTalk.stdout, /got typed\r\n$/);
  assert.equal((await berth(['exec', '-t', 'shell', 'nope'], env)).code, 127);
});
