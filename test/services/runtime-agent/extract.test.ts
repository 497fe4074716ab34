import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { pack } from 'tar-stream';
import { isBerthError } from '../../../libs/errors';
import { unpackTar } from '../../../libs/archive';
import { busyboxLayer, requirePrerequisites } from '../../support';

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device'; data?: string; linkname?: string; mode?: number; uid?: number; gid?: number; pax?: Record<string, string> };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve) => archive.on('end', () => resolve()));
  for (const { data, ...header } of entries) archive.entry({ type: 'file', mode: 0o644, mtime: new Date(1_000_000_000_000), ...header }, data ?? '');
  archive.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A layer root inside a sandbox directory whose other contents must never change. */
function sandbox(t: TestContext): { root: string; outside: string } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-extract-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'layer');
  const outside = join(dir, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  return { root, outside };
}

const extractTar = async (tar: Buffer, root: string) => unpackTar(Readable.from([tar]), root, { gzip: false });

test('a real layer (busybox, gzip) unpacks with its modes, symlinks and times', async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const { root } = sandbox(t);
  const layer = await busyboxLayer();
  const result = await unpackTar(Readable.from([layer.blob]), root, { gzip: true });
  assert.ok(result.entries > 10);
  assert.equal(statSync(join(root, 'bin', 'busybox')).mode & 0o777, 0o755);
  assert.equal(readlinkSync(join(root, 'bin', 'sh')), 'busybox');
  assert.equal(statSync(join(root, 'tmp')).mode & 0o7777, 0o1777, 'the sticky bit is kept');
  assert.equal(execFileSync(join(root, 'bin', 'busybox'), ['echo', 'runs'], { encoding: 'utf8' }).trim(), 'runs');
});

test('owners, setuid bits and xattrs are kept; trusted.overlay xattrs from the tar are dropped', async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['setfattr', 'getfattr'] })) return;
  const { root } = sandbox(t);
  await extractTar(
    await tarOf([
      { name: 'usr/bin/tool', data: 'x', mode: 0o4755, uid: 1000, gid: 2000, pax: { 'SCHILY.xattr.user.note': 'hello', 'SCHILY.xattr.trusted.overlay.opaque': 'y' } },
    ]),
    root,
  );
  const stats = statSync(join(root, 'usr', 'bin', 'tool'));
  assert.equal(stats.mode & 0o7777, 0o4755);
  assert.deepEqual([stats.uid, stats.gid], [1000, 2000]);
  const xattrs = execFileSync('getfattr', ['-d', '-m', '-', join(root, 'usr', 'bin', 'tool')], { encoding: 'utf8' });
  assert.match(xattrs, /user\.note="hello"/);
  assert.doesNotMatch(xattrs, /trusted\.overlay/);
});

test('OCI whiteouts become overlay whiteouts: a 0/0 character device, and an opaque directory', async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['mknod', 'setfattr', 'getfattr'] })) return;
  const { root } = sandbox(t);
  const result = await extractTar(
    await tarOf([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/.wh.old.conf' },
      { name: 'var/cache/', type: 'directory' },
      { name: 'var/cache/.wh..wh..opq' },
      { name: 'var/cache/fresh', data: 'new' },
    ]),
    root,
  );
  assert.deepEqual(result.whiteouts, ['etc/old.conf']);
  assert.deepEqual(result.opaque, ['var/cache']);
  const whiteout = lstatSync(join(root, 'etc', 'old.conf'));
  assert.ok(whiteout.isCharacterDevice());
  assert.equal(whiteout.rdev, 0);
  assert.ok(!existsSync(join(root, 'etc', '.wh.old.conf')));
  assert.ok(!existsSync(join(root, 'var', 'cache', '.wh..wh..opq')));
  assert.match(execFileSync('getfattr', ['-n', 'trusted.overlay.opaque', join(root, 'var', 'cache')], { encoding: 'utf8' }), /trusted\.overlay\.opaque="y"/);
  assert.equal(readFileSync(join(root, 'var', 'cache', 'fresh'), 'utf8'), 'new');
});

test('no entry can write outside the root: climbing names, symlinks out, hardlinks out, bad whiteouts', async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const cases: Array<[string, Entry[], RegExp]> = [
    ['a climbing name', [{ name: '../outside/evil', data: 'x' }], /leaves the layer's root/],
    ['a name climbing after a directory', [{ name: 'a/../../outside/evil', data: 'x' }], /leaves the layer's root/],
    ['a write through an absolute symlink', [{ name: 'out', type: 'symlink', linkname: '/tmp' }, { name: 'out/evil', data: 'x' }], /goes through the symlink "out"/],
    ['a write through a relative symlink', [{ name: 'up', type: 'symlink', linkname: '../outside' }, { name: 'up/evil', data: 'x' }], /goes through the symlink "up"/],
    ['a hardlink to a file outside', [{ name: 'h', type: 'link', linkname: '../outside/secret' }], /leaves the layer's root/],
    ['a hardlink through a symlink', [{ name: 's', type: 'symlink', linkname: '../outside' }, { name: 'h', type: 'link', linkname: 's/secret' }], /goes through the symlink "s"/],
    ['a hardlink to a symlink', [{ name: 's', type: 'symlink', linkname: '/etc/shadow' }, { name: 'h', type: 'link', linkname: 's' }], /not a file in the layer/],
    ['a whiteout of the parent', [{ name: 'dir/.wh..' }], /not a valid whiteout/],
  ];
  for (const [what, entries, message] of cases) {
    const { root, outside } = sandbox(t);
    execFileSync('sh', ['-c', `echo secret > ${join(outside, 'secret')}`]);
    await assert.rejects(extractTar(await tarOf(entries), root), (err: unknown) => {
      assert.ok(isBerthError(err, 'invalid_argument'), `${what}: ${String(err)}`);
      assert.match(err.message, message, what);
      return true;
    });
    assert.deepEqual(execFileSync('ls', ['-A', outside], { encoding: 'utf8' }).trim().split('\n'), ['secret'], `${what}: nothing written outside`);
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'secret\n', `${what}: nothing changed outside`);
  }
  // An absolute name is a name inside the root, not on the host.
  const { root, outside } = sandbox(t);
  await extractTar(await tarOf([{ name: `/${outside.slice(1)}/inside`, data: 'x' }]), root);
  assert.ok(existsSync(join(root, outside, 'inside')));
  assert.ok(!existsSync(join(outside, 'inside')));
});

test('a later entry replaces an earlier one without following it; hardlinks inside work', async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const { root, outside } = sandbox(t);
  execFileSync('sh', ['-c', `echo secret > ${join(outside, 'secret')}`]);
  await extractTar(
    await tarOf([
      { name: 'conf', type: 'symlink', linkname: join(outside, 'secret') },
      { name: 'conf', data: 'replaced' },
      { name: 'a', data: 'shared' },
      { name: 'b', type: 'link', linkname: 'a' },
    ]),
    root,
  );
  assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'secret\n', 'the symlink was replaced, not written through');
  assert.equal(readFileSync(join(root, 'conf'), 'utf8'), 'replaced');
  assert.equal(statSync(join(root, 'a')).ino, statSync(join(root, 'b')).ino);
});
