import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { berth, berthOk, eventually, requirePrerequisites, startRuntime, streamEvents } from '../../support';

const RUNTIME = { root: true, programs: ['runc', 'conmon'] };

test("two containers share the image's layers, write only to their own, and leave the image as it was", { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const { env, stateDir } = await startRuntime(t);
  await berthOk(env, ['run', '-d', '--name', 'ca', 'busybox:test', 'sleep', '1000']);
  await berthOk(env, ['run', '-d', '--name', 'cb', 'busybox:test', 'sleep', '1000']);
  assert.equal(readdirSync(join(stateDir, 'layers')).filter((n) => !n.startsWith('.')).length, 1, 'one copy of the layer on disk');

  await berthOk(env, ['exec', 'ca', 'sh', '-c', 'echo changed > /etc/passwd; echo mine > /tmp/a-only; rm /bin/ls']);
  assert.equal(await berthOk(env, ['exec', 'ca', 'cat', '/etc/passwd']), 'changed\n');
  assert.match(await berthOk(env, ['exec', 'cb', 'cat', '/etc/passwd']), /^root:x:0:0/, "b does not see a's write");
  assert.equal((await berth(['exec', 'cb', 'test', '-e', '/tmp/a-only'], env)).code, 1);
  assert.equal((await berth(['exec', 'cb', 'test', '-e', '/bin/ls'], env)).code, 0, "a's delete is a's alone");

  const layer = readdirSync(join(stateDir, 'layers')).find((n) => !n.startsWith('.'))!;
  assert.match(readFileSync(join(stateDir, 'layers', layer, 'etc', 'passwd'), 'utf8'), /^root:x:0:0/, 'the layer is untouched');
  const upper = (await berthOk(env, ['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', 'ca'])).trim();
  assert.equal(readFileSync(join(upper, 'etc', 'passwd'), 'utf8'), 'changed\n', "the write went to a's upper directory");

  await berthOk(env, ['rm', '-f', 'ca', 'cb']);
  assert.match(await berthOk(env, ['run', '--rm', 'busybox:test', 'cat', '/etc/passwd']), /^root:x:0:0/, 'a new container sees the image as it was');
});

test('limits are visible inside the container, and the memory limit kills with OOM', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const { env } = await startRuntime(t);
  const v2 = readFileSync('/proc/self/cgroup', 'utf8').trim() === readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n').filter((l) => l.startsWith('0::')).join('\n');
  const read = v2
    ? 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max'
    : 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us';
  const limits = await berthOk(env, ['run', '--rm', '-m', '64m', '--pids-limit', '50', '--cpus', '0.5', 'busybox:test', 'sh', '-c', read]);
  assert.deepEqual(limits.trim().split(/\s+/), v2 ? ['67108864', '50', '50000', '100000'] : ['67108864', '50', '50000']);

  await berthOk(env, ['run', '-d', '--name', 'upd', 'busybox:test', 'sleep', '1000']);
  await berthOk(env, ['update', '--memory', '32m', '--pids-limit', '20', 'upd']);
  const updated = await berthOk(env, ['exec', 'upd', 'sh', '-c', read]);
  assert.deepEqual(updated.trim().split(/\s+/).slice(0, 2), ['33554432', '20']);
  assert.equal((await berthOk(env, ['inspect', '-f', '{{.HostConfig.Memory}}', 'upd'])).trim(), '33554432');

  // tail keeps a whole "line" of /dev/zero in memory: it grows until the kernel kills it.
  const oom = await berth(['run', '--name', 'hog', '-m', '16m', 'busybox:test', 'tail', '/dev/zero'], env, 60_000);
  assert.equal(oom.code, 137, oom.stderr);
  assert.equal((await berthOk(env, ['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}}', 'hog'])).trim(), 'true 137');
  const id = (await berthOk(env, ['inspect', '-f', '{{.Id}}', 'hog'])).trim();
  await eventually(async () => ((await streamEvents(env, 'container', 100, 2_000)).some((e) => e.actorId === id && e.action === 'oom') ? true : undefined), 10_000, 'the oom event');
  // conmon notes the kill in a file where it runs: the container's directory, not the agent's working directory.
  assert.ok(!existsSync(join(process.cwd(), 'oom')), 'no oom file where the agent runs');
});

test('a default container cannot mount, see the host, or write /proc/sys', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const { env } = await startRuntime(t);
  const probe = await berth(['run', '--rm', 'busybox:test', 'sh', '-c', 'ps -o pid,comm; mount -t tmpfs none /tmp; echo evil > /proc/sys/kernel/hostname; hostname'], env);
  const lines = probe.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(1, -1).map((l) => l.trim().split(/\s+/)[1]), ['sh', 'ps'], `only its own processes: ${probe.stdout}`);
  assert.equal(lines[1]!.trim().split(/\s+/)[0], '1', 'its command is pid 1');
  assert.match(probe.stderr, /mount: .*(denied|not permitted)/i);
  // /proc/sysrq-trigger is read-only the same way, where the kernel has it (this machine's has not).
  assert.match(probe.stderr, /proc\/sys\/kernel\/hostname: Read-only file system/);
  assert.match(lines.at(-1)!, /^[0-9a-f]{12}$/, 'its hostname is its short id');
});

test("a default container cannot load kernel modules or reach the host's unix sockets; --privileged, asked for, can mount", { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const { env, runDir } = await startRuntime(t);
  // Zeros are no module: with the right to load one, init_module says so (ENOEXEC); without it, EPERM first.
  const modules = await berth(['run', '--rm', 'busybox:test', 'sh', '-c', 'dd if=/dev/zero of=/tmp/x.ko bs=1k count=8 2>/dev/null; insmod /tmp/x.ko'], env);
  assert.notEqual(modules.code, 0);
  assert.match(modules.stderr, /not permitted/i, modules.stderr);
  // The agent's socket: not in the container's files, nor among the sockets of its network namespace.
  const sockets = await berth(['run', '--rm', 'busybox:test', 'sh', '-c', `ls ${runDir}; cat /proc/net/unix`], env);
  assert.match(sockets.stderr, /No such file or directory/);
  assert.doesNotMatch(sockets.stdout, /runtime-agent\.sock|image-store\.sock/);
  // Only what --privileged asks for: mounting works then.
  assert.equal((await berthOk(env, ['run', '--rm', '--privileged', 'busybox:test', 'sh', '-c', 'mkdir -p /m && mount -t tmpfs none /m && echo mounted'])).trim(), 'mounted');
  const inspected = (await berthOk(env, ['create', 'busybox:test'])).trim();
  assert.equal((await berthOk(env, ['inspect', '-f', '{{.HostConfig.Privileged}}', inspected])).trim(), 'false', 'never privileged unless asked');
});
