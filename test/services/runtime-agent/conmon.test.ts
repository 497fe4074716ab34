import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { readStats } from '../../../services/runtime-agent/cgroups';
import { LayerStore } from '../../../services/runtime-agent/layers';
import { createWithConmon, parseK8sLog, readExitStatus, runtimeConfig } from '../../../services/runtime-agent/oci';
import { mountOverlay, overlayDirs, unmountOverlay } from '../../../services/runtime-agent/rootfs';
import { buildImage, eventually, requirePrerequisites } from '../../support';

/** A test image's layers unpacked into a layer store at root, as the agent would from the image-store. */
async function unpackTestImage(root: string, seed?: string): Promise<{ layers: LayerStore; layerDirs: string[] }> {
  const image = await buildImage({ os: 'linux', architecture: 'amd64' }, { seed });
  const layers = new LayerStore(root);
  await layers.init();
  const blobs = new Map(image.layers.map((l): [string, Buffer] => [l.digest, l.blob]));
  const layerDirs = await layers.ensure(
    image.layers.map((l) => ({ digest: l.digest, diffId: l.diffId, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' })),
    async (digest) => Readable.from([blobs.get(digest)!]),
  );
  return { layers, layerDirs };
}

/** Clean-ups run last-registered first, after the test: containers and mounts go before their directories. */
function cleanups(t: TestContext): (fn: () => unknown) => void {
  const pending: Array<() => unknown> = [];
  t.after(async () => {
    for (const fn of pending.reverse()) await fn();
  });
  return (fn) => void pending.push(fn);
}

/** Removes what a container may leave: the runtime's state, its cgroups and its mount. */
function cleanUp(defer: (fn: () => unknown) => void, id: string, containerDir: string): void {
  defer(async () => {
    spawnSync('runc', ['delete', '--force', id], { stdio: 'ignore' });
    await unmountOverlay(overlayDirs(containerDir)).catch(() => undefined);
    for (const dir of [join('/sys/fs/cgroup', id), ...readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c, id))]) {
      if (existsSync(dir)) rmdirSync(dir);
    }
  });
}

test('a container through conmon and runc on an overlay root: exit code, log, copy-on-write, isolation', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon'] })) return;
  const defer = cleanups(t);
  const work = mkdtempSync(join(tmpdir(), 'berth-conmon-'));
  defer(() => rmSync(work, { recursive: true, force: true }));
  const { layers, layerDirs } = await unpackTestImage(join(work, 'layers'), 'original');

  const id = `berth-test-${randomBytes(4).toString('hex')}`;
  const containerDir = join(work, 'containers', id);
  mkdirSync(containerDir, { recursive: true });
  cleanUp(defer, id, containerDir);
  const dirs = overlayDirs(containerDir);
  await mountOverlay(layerDirs, dirs);
  writeFileSync(
    join(containerDir, 'config.json'),
    JSON.stringify(
      runtimeConfig({
        args: ['/bin/sh', '-c', 'echo out; echo err >&2; echo changed > /etc/test-image; echo new > /new-file; exit 7'],
        env: [],
        cwd: '/',
        uid: 0,
        gid: 0,
        hostname: id.slice(0, 12),
        cgroupsPath: `/${id}`,
        rootfs: dirs.merged,
        nofile: 1024,
      }),
    ),
  );
  const exitDir = join(work, 'exits');
  mkdirSync(exitDir);
  // What a start that failed on a full disk leaves: runc's half-made pid file does not stop the next.
  writeFileSync(join(containerDir, '.pidfile'), '');
  const pid = await createWithConmon({
    conmon: 'conmon',
    runtime: 'runc',
    id,
    bundle: containerDir,
    exitDir,
    logPath: join(containerDir, 'ctr.log'),
    conmonPidFile: join(containerDir, 'conmon.pid'),
    socketDir: join(work, 'sockets'),
  });
  assert.ok(pid > 1);
  execFileSync('runc', ['start', id]);
  const status = await eventually(() => readExitStatus(exitDir, id), 15_000, 'the exit file');
  assert.equal(status, 7);

  const log = parseK8sLog(readFileSync(join(containerDir, 'ctr.log'), 'utf8'));
  assert.deepEqual(log.map((l) => [l.stream, l.line]).sort(), [['stderr', 'err'], ['stdout', 'out']]);

  // Copy-on-write: the container's writes are in its upper layer; the image's layer is untouched.
  assert.match(readFileSync(join(layerDirs[1]!, 'etc', 'test-image'), 'utf8'), /original/);
  assert.equal(readFileSync(join(dirs.upper, 'etc', 'test-image'), 'utf8'), 'changed\n');
  assert.equal(readFileSync(join(dirs.upper, 'new-file'), 'utf8'), 'new\n');

  // A second container's root, from the same layer directories, sees the image as it is.
  const otherDir = join(work, 'containers', 'other');
  mkdirSync(otherDir, { recursive: true });
  cleanUp(defer, `${id}-other`, otherDir);
  await mountOverlay(layerDirs, overlayDirs(otherDir));
  assert.match(readFileSync(join(overlayDirs(otherDir).merged, 'etc', 'test-image'), 'utf8'), /original/);
  assert.ok(!existsSync(join(overlayDirs(otherDir).merged, 'new-file')));
  assert.equal(readdirSync(layers.root).filter((n) => !n.startsWith('.')).length, 2, 'one copy of each layer on disk');
});

test('a runtime that cannot create the container is reported with its reason', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon'] })) return;
  const defer = cleanups(t);
  const work = mkdtempSync(join(tmpdir(), 'berth-conmon-'));
  defer(() => rmSync(work, { recursive: true, force: true }));
  const id = `berth-test-${randomBytes(4).toString('hex')}`;
  cleanUp(defer, id, work);
  writeFileSync(join(work, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', root: { path: join(work, 'no-such-rootfs') }, process: { args: ['true'], cwd: '/' } }));
  await assert.rejects(
    createWithConmon({ conmon: 'conmon', runtime: 'runc', id, bundle: work, exitDir: work, logPath: join(work, 'ctr.log'), conmonPidFile: join(work, 'conmon.pid'), socketDir: join(work, 'sockets') }),
    /the runtime could not create container/,
  );
});

test("a running container's cgroup stats show its limits; SIGKILL ends it with 137", { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon'] })) return;
  const defer = cleanups(t);
  const work = mkdtempSync(join(tmpdir(), 'berth-conmon-'));
  defer(() => rmSync(work, { recursive: true, force: true }));
  const { layerDirs } = await unpackTestImage(join(work, 'layers'));
  const id = `berth-test-${randomBytes(4).toString('hex')}`;
  const containerDir = join(work, id);
  mkdirSync(containerDir);
  cleanUp(defer, id, containerDir);
  const dirs = overlayDirs(containerDir);
  await mountOverlay(layerDirs, dirs);
  writeFileSync(
    join(containerDir, 'config.json'),
    JSON.stringify(
      runtimeConfig({
        args: ['/bin/sh', '-c', 'while true; do sleep 1; done'],
        env: [],
        cwd: '/',
        uid: 0,
        gid: 0,
        hostname: 'stats',
        cgroupsPath: `/${id}`,
        rootfs: dirs.merged,
        nofile: 1024,
        memoryBytes: 32 * 1024 * 1024,
        pidsLimit: 20,
      }),
    ),
  );
  const exitDir = join(work, 'exits');
  mkdirSync(exitDir);
  // What a start that failed on a full disk leaves: runc's half-made pid file does not stop the next.
  writeFileSync(join(containerDir, '.pidfile'), '');
  const pid = await createWithConmon({ conmon: 'conmon', runtime: 'runc', id, bundle: containerDir, exitDir, logPath: join(containerDir, 'ctr.log'), conmonPidFile: join(containerDir, 'conmon.pid'), socketDir: join(work, 'sockets') });
  execFileSync('runc', ['start', id]);

  const stats = await readStats(pid);
  assert.equal(stats.memoryLimit, 32 * 1024 * 1024);
  assert.equal(stats.pidsLimit, 20);
  assert.ok(stats.pids >= 1, `pids ${stats.pids}`);
  assert.ok(stats.memoryUsage > 0 && stats.memoryUsage < 32 * 1024 * 1024, `memory ${stats.memoryUsage}`);
  assert.ok(stats.cpuUsageNs > 0);

  execFileSync('runc', ['kill', id, 'KILL']);
  assert.equal(await eventually(() => readExitStatus(exitDir, id), 15_000, 'the exit file'), 137);
});
