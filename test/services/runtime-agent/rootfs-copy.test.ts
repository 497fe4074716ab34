import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { copyIn, copyOut, resolveInRoot } from '../../../services/runtime-agent/rootfs';
import { buildLayer, rejectsWith, requirePrerequisites, type LayerEntry } from '../../support';

/**
 * A container root inside a sandbox whose other contents must never change. Its links try every way
 * out: absolute to the host's /etc, climbing past the root, into a loop.
 */
function sandbox(t: TestContext): { root: string; outside: string } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-copy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'secret');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'passwd'), 'container passwd');
  writeFileSync(join(root, 'etc', 'shadow'), 'container shadow');
  mkdirSync(join(root, 'data', 'sub'), { recursive: true });
  writeFileSync(join(root, 'data', 'file'), 'data');
  writeFileSync(join(root, 'data', 'sub', 'deep'), 'deep');
  symlinkSync('/etc', join(root, 'host-etc'));
  symlinkSync('/etc/passwd', join(root, 'data', 'passwd-link'));
  symlinkSync('../../../../../..', join(root, 'data', 'up'));
  symlinkSync('../outside', join(root, 'sibling'));
  symlinkSync('loop-b', join(root, 'loop-a'));
  symlinkSync('loop-a', join(root, 'loop-b'));
  return { root, outside };
}

/** The tar's entries in order: name, type, link target, content. */
async function entriesOf(tar: Readable): Promise<Array<{ name: string; type: string; linkname?: string; data?: string }>> {
  const entries: Array<{ name: string; type: string; linkname?: string; data?: string }> = [];
  const reader = extract();
  tar.pipe(reader as unknown as NodeJS.WritableStream);
  for await (const entry of reader) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const data = Buffer.concat(chunks).toString();
    const { name, type, linkname } = entry.header;
    entries.push({ name, type, ...(linkname ? { linkname } : {}), ...(type === 'file' ? { data } : {}) });
  }
  return entries;
}

const tarOf = async (entries: LayerEntry[]): Promise<Readable> => Readable.from([gunzipSync((await buildLayer(entries)).blob)]);

test('resolveInRoot follows every symlink inside the root and never out of it', async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const { root } = sandbox(t);
  const cases: Array<[string, string, { followLast?: boolean }?]> = [
    ['/etc/passwd', 'etc/passwd'],
    ['etc/passwd', 'etc/passwd'],
    ['/host-etc/passwd', 'etc/passwd'],
    ['/data/up/etc/passwd', 'etc/passwd'],
    ['/../../../etc/passwd', 'etc/passwd'],
    ['/data/up/sibling', 'sibling'],
    ['/host-etc', 'host-etc'],
    ['/host-etc/', 'etc'],
    ['/host-etc/.', 'etc'],
    ['/host-etc', 'etc', { followLast: true }],
    ['/data/passwd-link', 'etc/passwd', { followLast: true }],
    ['/', ''],
  ];
  for (const [path, expected, options] of cases) assert.equal(await resolveInRoot(root, path, options), join(root, expected), path);
  await rejectsWith(resolveInRoot(root, '/sibling/secret'), 'not_found', /no such file or directory in the container: "\/sibling\/secret"/);
  await rejectsWith(resolveInRoot(root, '/etc/passwd/x'), 'not_found', /goes through "\/etc\/passwd", which is not a directory/);
  await rejectsWith(resolveInRoot(root, '/loop-a/x'), 'invalid_argument', /too many levels of symbolic links/);
});

test('copyOut archives a file, a directory, a directory\'s contents and a symlink as itself', async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const { root } = sandbox(t);
  assert.deepEqual(await entriesOf(await copyOut(root, '/etc/passwd')), [{ name: 'passwd', type: 'file', data: 'container passwd' }]);
  assert.deepEqual(await entriesOf(await copyOut(root, '/data')), [
    { name: 'data/', type: 'directory' },
    { name: 'data/file', type: 'file', data: 'data' },
    { name: 'data/passwd-link', type: 'symlink', linkname: '/etc/passwd' },
    { name: 'data/sub/', type: 'directory' },
    { name: 'data/sub/deep', type: 'file', data: 'deep' },
    { name: 'data/up', type: 'symlink', linkname: '../../../../../..' },
  ]);
  assert.deepEqual(
    (await entriesOf(await copyOut(root, '/data/sub/.'))).map((e) => e.name),
    ['deep'],
  );
  assert.deepEqual(await entriesOf(await copyOut(root, '/host-etc')), [{ name: 'host-etc', type: 'symlink', linkname: '/etc' }]);
  await rejectsWith(copyOut(root, '/no/such/file'), 'not_found', /no such file or directory/);
});

test('copyOut through a symlink to /etc reads the container\'s /etc, not the host\'s', async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const { root } = sandbox(t);
  assert.deepEqual(await entriesOf(await copyOut(root, '/host-etc/passwd')), [{ name: 'passwd', type: 'file', data: 'container passwd' }]);
  assert.deepEqual(await entriesOf(await copyOut(root, '/data/up/etc/shadow')), [{ name: 'shadow', type: 'file', data: 'container shadow' }]);
  const etc = await entriesOf(await copyOut(root, '/host-etc/'));
  assert.deepEqual(
    etc.map((e) => [e.name, e.data]),
    [
      ['host-etc/', undefined],
      ['host-etc/passwd', 'container passwd'],
      ['host-etc/shadow', 'container shadow'],
    ],
  );
});

test('copyIn writes through a symlinked destination into the root, never the host', async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const { root, outside } = sandbox(t);
  const name = `berth-copy-test-${randomBytes(4).toString('hex')}`;
  await copyIn(root, '/host-etc', await tarOf([{ path: name, type: 'file', content: 'in' }]));
  assert.equal(readFileSync(join(root, 'etc', name), 'utf8'), 'in');
  assert.ok(!existsSync(join('/etc', name)), 'nothing written to the host\'s /etc');

  await copyIn(root, '/data/up/data/sub', await tarOf([{ path: 'dir', type: 'directory' }, { path: 'dir/f', type: 'file', content: 'f' }]));
  assert.equal(readFileSync(join(root, 'data', 'sub', 'dir', 'f'), 'utf8'), 'f', 'the climbing link stopped at the root');

  // "../outside" from the root's top is the root's own /outside, not the sandbox's.
  mkdirSync(join(root, 'outside'));
  await copyIn(root, '/sibling', await tarOf([{ path: 'secret', type: 'file', content: 'overwritten?' }]));
  assert.equal(readFileSync(join(root, 'outside', 'secret'), 'utf8'), 'overwritten?');
  assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'secret');
});

test('copyIn refuses entries that leave the destination or go through its symlinks', async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const { root, outside } = sandbox(t);
  const cases: Array<[string, string, LayerEntry[], RegExp]> = [
    ['a climbing name', '/data', [{ path: '../../outside/evil', type: 'file', content: 'x' }], /entry "..\/..\/outside\/evil" leaves the destination directory/],
    ['a name through an absolute symlink', '/', [{ path: 'host-etc/evil', type: 'file', content: 'x' }], /goes through the symlink "host-etc"/],
    ['a name through a climbing symlink', '/', [{ path: 'sibling/evil', type: 'file', content: 'x' }], /goes through the symlink "sibling"/],
    ['a symlink planted, then written through', '/data', [{ path: 'out', type: 'symlink', target: '/' }, { path: 'out/evil', type: 'file', content: 'x' }], /goes through the symlink "out"/],
    ['a file over a directory', '/', [{ path: 'data', type: 'file', content: 'x' }], /would replace the directory "data" with a non-directory/],
    ['a directory over a file', '/etc', [{ path: 'passwd', type: 'directory' }], /would replace the non-directory "passwd" with a directory/],
  ];
  for (const [what, destination, entries, message] of cases) {
    await rejectsWith(copyIn(root, destination, await tarOf(entries)), 'invalid_argument', message).catch((err: Error) => assert.fail(`${what}: ${err.message}`));
    assert.deepEqual(readdirSync(outside), ['secret'], `${what}: nothing written outside`);
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'secret', `${what}: nothing changed outside`);
    assert.ok(lstatSync(join(root, 'data')).isDirectory() && readFileSync(join(root, 'etc', 'passwd'), 'utf8') === 'container passwd', `${what}: nothing replaced`);
  }
  await rejectsWith(copyIn(root, '/etc/passwd', await tarOf([])), 'invalid_argument', /"\/etc\/passwd" in the container is not a directory/);
  await rejectsWith(copyIn(root, '/nowhere', await tarOf([])), 'not_found', /no such file or directory/);
});

test('copyIn takes names as they are: a .wh. file is a file; what copyOut gives copies back', async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const { root } = sandbox(t);
  await copyIn(root, '/data', await tarOf([{ path: '.wh.file', type: 'file', content: 'kept' }]));
  assert.equal(readFileSync(join(root, 'data', '.wh.file'), 'utf8'), 'kept');
  assert.equal(readFileSync(join(root, 'data', 'file'), 'utf8'), 'data', 'no whiteout applied');

  mkdirSync(join(root, 'copy'));
  await copyIn(root, '/copy', await copyOut(root, '/data'));
  assert.equal(readFileSync(join(root, 'copy', 'data', 'sub', 'deep'), 'utf8'), 'deep');
  assert.equal(readlinkSync(join(root, 'copy', 'data', 'passwd-link')), '/etc/passwd');
});
