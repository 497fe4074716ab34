import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createClient, unaryCall } from '../../../libs/grpc';
import { volume } from '../../../libs/proto';
import { adminQuery, berth, berthOk, eventually, processesMentioning, removeContainersOf, requirePrerequisites, startRuntime, streamEvents } from '../../support';

const RUNTIME = { root: true, programs: ['runc', 'conmon'] };

test('containers outlive a SIGKILLed agent; the next agent records what happened meanwhile and finishes removals and undoes creates cut short', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const suite = await startRuntime(t, 'busybox:test', {}, { volumes: true });
  const { env } = suite;
  await berthOk(env, ['run', '-d', '--name', 'steady', '-v', 'kept:/data', 'busybox:test', 'sh', '-c', 'echo up; sleep 1000']);
  // A create the agent died in the middle of: the volume service made its anonymous volume, the container was never recorded.
  const volumeEndpoint = suite.services.volume!.endpoint;
  const volumes = createClient(volume.VolumeServiceClient, volumeEndpoint, { deadlineMs: 10_000 });
  t.after(() => volumes.close());
  const cutShort = await unaryCall<volume.UseResponse>(volumeEndpoint, (m, o, cb) => volumes.use({ containerId: 'f'.repeat(64), name: '', createIfMissing: true, options: {}, labels: {} }, m, o, cb));
  await berthOk(env, ['run', '-d', '--name', 'brief', 'busybox:test', 'sh', '-c', 'echo before; sleep 2; echo while-away; exit 5']);
  const pid = (await berthOk(env, ['inspect', '-f', '{{.State.Pid}}', 'steady'])).trim();
  const briefId = (await berthOk(env, ['inspect', '-f', '{{.Id}}', 'brief'])).trim();

  // A removal with -v the agent died in the middle of (its row says so): the next agent finishes it as asked.
  await berthOk(env, ['create', '--name', 'half-removed', '-v', '/scratch', 'busybox:test', 'true']);
  const anonymous = (JSON.parse(await berthOk(env, ['inspect', '-f', '{{json .Mounts}}', 'half-removed'])) as Array<{ Name: string }>)[0]!.Name;
  await adminQuery(env.BERTH_POSTGRES_URL!, "UPDATE runtime.containers SET state = 'removing', remove_volumes = true WHERE name = 'half-removed'");

  await suite.services['runtime-agent']!.kill();
  await sleep(3_000);
  assert.doesNotThrow(() => process.kill(Number(pid), 0), 'the container runs on without its agent');
  await suite.spawn('runtime-agent');

  assert.equal((await berthOk(env, ['inspect', '-f', '{{.State.Status}} {{.State.Pid}}', 'steady'])).trim(), `running ${pid}`);
  assert.equal((await berthOk(env, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'brief'])).trim(), 'exited 5');
  const volumeNames = async () => (await berthOk(env, ['volume', 'ls', '-q'])).split('\n').filter(Boolean);
  await eventually(async () => (!(await volumeNames()).includes(cutShort.volume!.name) ? true : undefined), 10_000, 'the volume of the create cut short to go');
  assert.deepEqual(await volumeNames(), ['kept'], 'the volume of a recorded container stays; the half-removed one\'s anonymous volume went with it');
  assert.match(anonymous, /^[0-9a-f]{64}$/);
  assert.equal((await berth(['inspect', 'half-removed'], env)).code, 1, 'the removal was finished');
  assert.equal(await berthOk(env, ['logs', 'brief']), 'before\nwhile-away\n', 'what it printed while the agent was away');
  const die = (await streamEvents(env, 'container', 100, 3_000)).find((e) => e.actorId === briefId && e.action === 'die');
  assert.equal(die?.attributes.exitCode, '5', 'the exit is an event, recorded by the next agent');

  // The adopted container is managed as any other.
  assert.match(await berthOk(env, ['exec', 'steady', 'echo', 'still here']), /still here/);
  const follow = berth(['logs', '-f', 'steady'], env);
  await sleep(500);
  await berthOk(env, ['stop', '-t', '1', 'steady']);
  assert.equal((await follow).stdout, 'up\n', 'logs -f ends when the container stops');
  assert.equal((await berthOk(env, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'steady'])).trim(), 'exited 137');
});

test('restart policies: on-failure with a maximum, always until stopped, never after a user stop', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const { env } = await startRuntime(t);
  await berthOk(env, ['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox:test', 'sh', '-c', 'exit 1']);
  await berthOk(env, ['run', '-d', '--name', 'done', '--restart', 'on-failure', 'busybox:test', 'true']);
  await berthOk(env, ['run', '-d', '--name', 'forever', '--restart', 'always', 'busybox:test', 'sh', '-c', 'sleep 0.2']);

  const inspect = (name: string) => berthOk(env, ['inspect', '-f', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}', name]).then((s) => s.trim());
  await eventually(async () => ((await inspect('flaky')) === 'exited 2 1' ? true : undefined), 20_000, 'on-failure:2 to give up after two restarts');
  assert.equal(await inspect('done'), 'exited 0 0', 'a clean exit is not a failure');
  await eventually(async () => (Number((await inspect('forever')).split(' ')[1]) >= 3 ? true : undefined), 20_000, 'always to keep restarting');

  await berthOk(env, ['stop', 'forever']);
  const stopped = await inspect('forever');
  assert.match(stopped, /^exited /);
  await sleep(1_500);
  assert.equal(await inspect('forever'), stopped, 'a stopped container stays stopped');
});

test('after a host reboot the agent starts always and unless-stopped containers again, and marks the rest exited', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const suite = await startRuntime(t);
  const { env, stateDir } = suite;
  for (const [name, policy] of [['always-on', 'always'], ['mostly-on', 'unless-stopped'], ['plain', 'no'], ['stopped-by-me', 'always']] as const) {
    await berthOk(env, ['run', '-d', '--name', name, '--restart', policy, 'busybox:test', 'sh', '-c', `echo ${name}; sleep 1000`]);
  }
  await berthOk(env, ['stop', '-t', '0', 'stopped-by-me']);

  // A reboot, as the agent sees it: it is gone, and so are every container process and conmon.
  await suite.services['runtime-agent']!.kill();
  for (const { pid, command } of processesMentioning(stateDir)) if (command.startsWith('/usr/bin/conmon') || command.startsWith('conmon')) process.kill(pid, 'SIGKILL');
  removeContainersOf(stateDir);
  await suite.spawn('runtime-agent');

  const status = (name: string) => berthOk(env, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name]).then((s) => s.trim());
  await eventually(async () => ((await status('always-on')).startsWith('running') && (await status('mostly-on')).startsWith('running') ? true : undefined), 20_000, 'the always containers to run again');
  assert.equal(await status('plain'), 'exited 255');
  assert.equal(await status('stopped-by-me'), 'exited 137', 'a container its user stopped stays stopped');
  assert.equal(await berthOk(env, ['logs', '--tail', '1', 'always-on']), 'always-on\n');
  assert.equal(await berthOk(env, ['logs', 'always-on']), 'always-on\nalways-on\n', 'the log keeps both runs');
  const stamped = await berthOk(env, ['logs', '-t', '--since', '10m', 'plain']);
  assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z plain\n$/);
  assert.equal(await berthOk(env, ['logs', '--until', '2000-01-01T00:00:00Z', 'plain']), '');
});
