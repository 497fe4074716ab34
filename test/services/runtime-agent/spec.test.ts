import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { unpackTar } from '../../../libs/archive';
import { runtimeConfig } from '../../../services/runtime-agent/oci';
import { busyboxLayer, requirePrerequisites } from '../../support';

/** Docker's 14 default capabilities as the kernel shows them in CapEff. */
const DOCKER_CAP_MASK = '00000000a80425fb';

test("a container run by runc from the generated config has Docker's defaults and its limits", { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc'] })) return;
  const bundle = mkdtempSync(join(tmpdir(), 'berth-bundle-'));
  const id = `berth-test-${randomBytes(4).toString('hex')}`;
  t.after(() => {
    spawnSync('runc', ['delete', '--force', id], { stdio: 'ignore' });
    rmSync(bundle, { recursive: true, force: true });
    // runc removes the container's cgroup; a run that failed half-way may leave it (v1 or v2).
    for (const dir of [join('/sys/fs/cgroup', id), ...readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c, id))]) {
      if (existsSync(dir)) rmdirSync(dir);
    }
  });
  mkdirSync(join(bundle, 'rootfs'));
  const layer = await busyboxLayer();
  await unpackTar(Readable.from([layer.blob]), join(bundle, 'rootfs'), { gzip: true });
  mkdirSync(join(bundle, 'rootfs', 'mnt'));

  const script = [
    'grep -E "^(CapEff|Seccomp):" /proc/self/status',
    'echo kcore=$(cat /proc/kcore | wc -c)',
    '(echo h > /proc/sysrq-trigger) 2>/dev/null && echo sysrq=writable || echo sysrq=readonly',
    'mount -t tmpfs none /mnt 2>/dev/null && echo mount=allowed || echo mount=denied',
    'echo hostname=$(hostname)',
    'echo memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)',
    'echo pids=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)',
    'echo user=$(id -u)',
  ].join('; ');
  const config = runtimeConfig({
    args: ['/bin/sh', '-c', script],
    env: [],
    cwd: '/',
    uid: 0,
    gid: 0,
    hostname: 'berth-test',
    cgroupsPath: `/${id}`,
    rootfs: 'rootfs',
    nofile: 1024,
    memoryBytes: 64 * 1024 * 1024,
    pidsLimit: 64,
  });
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));

  const output = execFileSync('runc', ['run', '--bundle', bundle, id], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const seen = Object.fromEntries(output.trim().split('\n').map((line) => line.split(/[:=]\s*/) as [string, string]));
  assert.equal(seen.CapEff, DOCKER_CAP_MASK, "Docker's default capabilities");
  assert.equal(seen.Seccomp, '2', 'seccomp filters the container');
  assert.equal(seen.kcore, '0', '/proc/kcore is masked');
  assert.equal(seen.sysrq, 'readonly');
  assert.equal(seen.mount, 'denied');
  assert.equal(seen.hostname, 'berth-test');
  assert.equal(seen.memory, String(64 * 1024 * 1024));
  assert.equal(seen.pids, '64');
  assert.equal(seen.user, '0');
});
