import assert from 'node:assert/strict';
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { unpackTar, type ExtractResult } from '../../../libs/archive';
import { containerChanges, exportFilesystem, mountOverlay, overlayDirs, unmountOverlay, writeLayerTar, type OverlayDirs } from '../../../services/runtime-agent/rootfs';
import { buildLayer, requirePrerequisites } from '../../support';

/** A name getfattr has to escape: a space, a newline, a backslash and a non-ASCII letter. */
const ODD = 'odd dir\n\\é';

/** A work directory whose overlay mounts are undone, then the directory removed, even if the test fails. */
function workspace(t: TestContext): { work: string; mount: (layerDirs: string[], name: string) => Promise<OverlayDirs> } {
  const work = mkdtempSync(join(tmpdir(), 'berth-rootfs-'));
  const mounted: OverlayDirs[] = [];
  t.after(async () => {
    for (const dirs of mounted.reverse()) await unmountOverlay(dirs).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });
  const mount = async (layerDirs: string[], name: string) => {
    const dirs = overlayDirs(join(work, 'containers', name));
    mounted.push(dirs);
    await mountOverlay(layerDirs, dirs);
    return dirs;
  };
  return { work, mount };
}

/** Two image layers, the upper one whiting out a file of the lower, unpacked as the agent unpacks them. */
async function imageLayers(work: string): Promise<string[]> {
  const layers = [
    await buildLayer([
      { path: 'etc', type: 'directory' },
      { path: 'etc/a', type: 'file', content: 'a' },
      { path: 'etc/b', type: 'file', content: 'b' },
      { path: 'var', type: 'directory' },
      { path: 'var/cache', type: 'directory' },
      { path: 'var/cache/c1', type: 'file', content: '1' },
      { path: 'var/cache/c2', type: 'file', content: '2' },
      { path: 'opt', type: 'directory' },
      { path: 'opt/gone', type: 'file', content: 'gone' },
      { path: ODD, type: 'directory' },
      { path: `${ODD}/inside`, type: 'file', content: 'inside' },
      { path: 'host-etc', type: 'symlink', target: '/etc' },
    ]),
    await buildLayer([
      { path: 'opt/.wh.gone', type: 'file', content: '' },
      { path: 'etc/n', type: 'file', content: 'n' },
      { path: 'x', type: 'file', content: 'x' },
    ]),
  ];
  const dirs: string[] = [];
  for (const layer of layers) dirs.push((await unpackLayer(work, layer.blob, true)).dir);
  return dirs;
}

/** Unpacks a layer into the next directory under work/layers, as the agent's layer store does. */
async function unpackLayer(work: string, tar: Buffer, gzip: boolean): Promise<{ dir: string; result: ExtractResult }> {
  const root = join(work, 'layers');
  mkdirSync(root, { recursive: true });
  const dir = join(root, `l${readdirSync(root).length}`);
  mkdirSync(dir);
  return { dir, result: await unpackTar(Readable.from([tar]), dir, { gzip }) };
}

/** What a container does to its root: deletes, a chmod, a directory replaced, new files, a hard link. */
function changeThrough(merged: string): void {
  rmSync(join(merged, 'etc', 'a'));
  chmodSync(join(merged, 'etc', 'b'), 0);
  rmSync(join(merged, 'var', 'cache'), { recursive: true });
  mkdirSync(join(merged, 'var', 'cache'));
  writeFileSync(join(merged, 'var', 'cache', 'f'), 'fresh');
  rmSync(join(merged, ODD), { recursive: true });
  mkdirSync(join(merged, ODD));
  writeFileSync(join(merged, 'x'), 'changed');
  linkSync(join(merged, 'x'), join(merged, 'x2'));
  mkdirSync(join(merged, 'new'));
  writeFileSync(join(merged, 'new', 'file'), 'new');
  chownSync(join(merged, 'new', 'file'), 1000, 2000);
  writeFileSync(join(merged, 'opt', 'gone'), 'again');
}

/** Everything a tree shows but times: names, kinds, modes, owners, contents, link targets. */
function snapshot(root: string, dir = ''): string[] {
  return readdirSync(join(root, dir))
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      const stats = lstatSync(join(root, path));
      const what = stats.isDirectory() ? 'dir' : stats.isSymbolicLink() ? `-> ${readlinkSync(join(root, path))}` : `= ${readFileSync(join(root, path), 'utf8')}`;
      const line = `${JSON.stringify(path)} ${(stats.mode & 0o7777).toString(8)} ${stats.uid}:${stats.gid} ${what}`;
      return stats.isDirectory() ? [line, ...snapshot(root, path)] : [line];
    });
}

const collect = async (stream: Readable): Promise<Buffer> => Buffer.concat(await stream.toArray());

test('containerChanges lists what the container added, changed and deleted, as docker diff does', async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['getfattr', 'setfattr', 'mknod'] })) return;
  const { work, mount } = workspace(t);
  const layerDirs = await imageLayers(work);
  const dirs = await mount(layerDirs, 'c1');
  assert.deepEqual(await containerChanges(dirs.upper, layerDirs), [], 'a fresh container changed nothing');

  changeThrough(dirs.merged);
  assert.deepEqual(await containerChanges(dirs.upper, layerDirs), [
    { path: '/etc', kind: 'C' },
    { path: '/etc/a', kind: 'D' },
    { path: '/etc/b', kind: 'C' },
    { path: '/new', kind: 'A' },
    { path: '/new/file', kind: 'A' },
    { path: `/${ODD}`, kind: 'C' },
    { path: `/${ODD}/inside`, kind: 'D' },
    { path: '/opt', kind: 'C' },
    { path: '/opt/gone', kind: 'A' }, // whited out by the image's second layer: new to the container
    { path: '/var', kind: 'C' },
    { path: '/var/cache', kind: 'C' },
    { path: '/var/cache/c1', kind: 'D' },
    { path: '/var/cache/c2', kind: 'D' },
    { path: '/var/cache/f', kind: 'A' },
    { path: '/x', kind: 'C' },
    { path: '/x2', kind: 'A' },
  ]);
});

test('writeLayerTar commits the upper as an OCI layer that reproduces the container on the image', async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['getfattr', 'setfattr', 'mknod'] })) return;
  const { work, mount } = workspace(t);
  const layerDirs = await imageLayers(work);
  const container = await mount(layerDirs, 'c1');
  changeThrough(container.merged);

  const tar = await collect(writeLayerTar(container.upper));
  assert.ok(tar.equals(await collect(writeLayerTar(container.upper))), 'the same upper gives the same bytes');
  const committed = await unpackLayer(work, tar, false);
  assert.deepEqual(committed.result.whiteouts, ['etc/a'], 'the deleted file became .wh.a');
  assert.deepEqual(committed.result.opaque, [ODD, 'var/cache'], 'the replaced directories carry .wh..wh..opq');
  assert.equal(statSync(join(committed.dir, 'x')).ino, statSync(join(committed.dir, 'x2')).ino, 'the hard link stays a link');
  assert.equal(statSync(join(committed.dir, 'etc', 'b')).mode & 0o7777, 0, 'a mode of 0 is kept');

  const image = [...layerDirs, committed.dir];
  const fresh = await mount(image, 'c2');
  assert.deepEqual(snapshot(fresh.merged), snapshot(container.merged));
  assert.ok(!readdirSync(join(fresh.merged, 'etc')).includes('a'), 'the deleted file is gone');
  assert.deepEqual(readdirSync(join(fresh.merged, 'var', 'cache')), ['f'], 'the replaced directory holds only its new file');
  assert.deepEqual(await containerChanges(fresh.upper, image), []);
});

test('exportFilesystem archives the merged root as it is: symlinks kept as links, hard links, owners', async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['getfattr', 'setfattr', 'mknod'] })) return;
  const { work, mount } = workspace(t);
  const layerDirs = await imageLayers(work);
  const container = await mount(layerDirs, 'c1');
  changeThrough(container.merged);

  const target = join(work, 'exported');
  mkdirSync(target);
  await unpackTar(exportFilesystem(container.merged), target, { gzip: false });
  assert.deepEqual(snapshot(target), snapshot(container.merged));
  assert.equal(readlinkSync(join(target, 'host-etc')), '/etc', 'the symlink is archived, not followed to the host');
  assert.equal(statSync(join(target, 'x')).ino, statSync(join(target, 'x2')).ino);
  assert.deepEqual([statSync(join(target, 'new', 'file')).uid, statSync(join(target, 'new', 'file')).gid], [1000, 2000]);
});
