import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { extract, pack } from 'tar-stream';
import { unpackTar, type ExtractOptions, type ExtractResult } from '../../libs/archive';
import { rejectsWith, requirePrerequisites } from '../support';
import { fuzzParameters, onceIn, resolvesOrRefuses } from './fuzz';

/**
 * unpackTar writes image layers, `cp` archives and volume imports, all of which come from outside
 * (a registry, a client): whatever the archive holds, it unpacks or fails with a BerthError, and
 * nothing outside the directory it is given changes. Each run unpacks into a fresh root inside a box
 * that also holds a sentinel directory; every name and link target can reach the sentinel and the
 * box (three levels of "..", or their absolute paths), so a write that escaped would be seen there.
 */

type Kind = 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo' | 'contiguous-file';

interface Entry {
  name: string;
  type: Kind;
  linkname?: string;
  /** Its place in the archive: its data is "entry N\n", padded past 1 MiB when big. */
  index: number;
  big: boolean;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  devmajor: number;
  devminor: number;
  pax?: Record<string, string>;
  /** Header fields overwritten after packing, with what tar-stream would never write (base-256, garbage). */
  patches: Array<{ field: keyof typeof FIELDS; bytes: number[] }>;
}

/** Offsets and lengths of a ustar header's numeric fields. */
const FIELDS = { mode: [100, 8], uid: [108, 8], gid: [116, 8], mtime: [136, 12], devmajor: [329, 8], devminor: [337, 8] } as const;

/** A box with the root to unpack into and a sentinel beside it: box/a/b/root and box/a/b/outside. */
interface Box {
  box: string;
  root: string;
  outside: string;
}

function newBox(): Box {
  const box = mkdtempSync(join(tmpdir(), 'berth-fuzz-unpack-'));
  const root = join(box, 'a', 'b', 'root');
  const outside = join(box, 'a', 'b', 'outside');
  mkdirSync(root, { recursive: true });
  mkdirSync(join(outside, 'dir'), { recursive: true });
  writeFileSync(join(outside, 'secret'), 'secret\n');
  writeFileSync(join(box, 'top'), 'top\n');
  return { box, root, outside };
}

/** Names the archive's entries take, relative to the root, or climbing out of it, or absolute. */
function namePieces(box: Box): fc.Arbitrary<string> {
  const piece = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom('f', 'd', 'l', 's', 'h') },
    { weight: 3, arbitrary: fc.constantFrom('..', '.', '', 'outside', 'secret', 'é') },
    { weight: 2, arbitrary: fc.constantFrom('.wh.f', '.wh.d', '.wh..wh..opq') },
    { weight: 1, arbitrary: fc.constantFrom('.wh.', '.wh..', '.wh...', 'x'.repeat(256)) },
  );
  return fc.oneof(
    { weight: 8, arbitrary: fc.array(piece, { minLength: 1, maxLength: 3 }).map((pieces) => pieces.join('/')) },
    { weight: 1, arbitrary: fc.constantFrom(`${box.outside}/evil`, `${box.box}/evil`, '/', './', '../../../evil', 'f/../../outside/evil', 'd/'.repeat(30) + 'f', `${'y'.repeat(200)}/`.repeat(22) + 'f') },
  );
}

/** Link targets: inside, through other entries, climbing out, absolute into the sentinel. */
function linkTargets(box: Box): fc.Arbitrary<string> {
  return fc.constantFrom('f', 'd/f', 'l', 'l/f', 's/f', 'd', '.', '', '/', '../outside/secret', '../../../top', 'f/../../outside/secret', `${box.outside}/secret`, box.outside, box.box, 'x'.repeat(300));
}

function entries(box: Box): fc.Arbitrary<Entry[]> {
  const names = namePieces(box);
  const entry = fc.record({
    name: names,
    type: fc.oneof(
      { weight: 6, arbitrary: fc.constant<Kind>('file') },
      { weight: 3, arbitrary: fc.constant<Kind>('directory') },
      { weight: 3, arbitrary: fc.constant<Kind>('symlink') },
      { weight: 2, arbitrary: fc.constant<Kind>('link') },
      { weight: 2, arbitrary: fc.constantFrom<Kind>('character-device', 'block-device', 'fifo', 'contiguous-file') },
    ),
    linkname: linkTargets(box),
    // Now and then a file past 1 MiB, which unpackTar writes asynchronously.
    big: fc.nat({ max: 29 }).map((n) => n === 0),
    mode: fc.oneof(fc.constantFrom(0o644, 0o755, 0o4755, 0o1777, 0o000), fc.nat({ max: 0o7777 })),
    uid: fc.constantFrom(0, 0, 1000, 65534, 2 ** 21 - 1, 2 ** 32),
    gid: fc.constantFrom(0, 0, 1000, 65534, 2 ** 21 - 1),
    // Up to 2^33 seconds: tar-stream truncates times past 2038 to 32 bits, writing a negative field.
    mtime: fc.integer({ min: 0, max: 2 ** 33 }).map((seconds) => new Date(seconds * 1000)),
    devmajor: fc.constantFrom(0, 1, 5, 4095, 4096, 2 ** 20, 2 ** 21 - 1),
    devminor: fc.constantFrom(0, 1, 255, 256, 2 ** 20, 2 ** 21 - 1),
    pax: onceIn(
      6,
      fc.dictionary(
        fc.constantFrom('SCHILY.xattr.user.note', 'SCHILY.xattr.trusted.overlay.opaque', 'SCHILY.xattr.security.capability', 'SCHILY.xattr.bad', 'SCHILY.xattr.user.', 'path', 'linkpath', 'size', 'comment'),
        fc.oneof(fc.constantFrom('y', '', 'a\0b', '../../../evil', '-1', 'NaN', 'x'.repeat(70_000)), names, fc.string({ maxLength: 8 })),
        { maxKeys: 3 },
      ),
    ),
    patches: onceIn(
      10,
      fc.record({
        field: fc.constantFrom(...(Object.keys(FIELDS) as Array<keyof typeof FIELDS>)),
        // Base-256 -2 and 2^56-1, a non-octal number, blanks only, letters.
        bytes: fc.constantFrom<number[]>([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe], [0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0], [0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20], [0x78, 0x79, 0]),
      }),
    ).map((patch) => (patch === null ? [] : [patch])),
  });
  // One archive in three ends with a known way out; it is refused (or neutralised) when tried.
  return fc.tuple(fc.array(entry, { minLength: 1, maxLength: 8 }), onceIn(3, escapeAttempt(box))).map(([list, attempt]) =>
    [...list.map(({ linkname, pax, ...rest }) => ({ ...rest, ...(rest.type === 'symlink' || rest.type === 'link' ? { linkname } : {}), ...(pax === null ? {} : { pax }) })), ...(attempt ?? [])].map(
      (entry, index): Entry => ({ ...entry, index }),
    ),
  );
}

/** An entry with ordinary attributes. */
function plain(name: string, type: Kind, linkname?: string): Omit<Entry, 'index'> {
  return { name, type, ...(linkname === undefined ? {} : { linkname }), big: false, mode: 0o755, uid: 0, gid: 0, mtime: new Date(0), devmajor: 0, devminor: 0, patches: [] };
}

/**
 * The known ways out, as sequences a random draw seldom makes: something made under N/S (a file, a
 * directory, an opaque marker, a whiteout), then N replaced by a symlink to the sentinel, then
 * something made through N/S again. Were any step to follow N, it would change the sentinel's S.
 */
function escapeAttempt(box: Box): fc.Arbitrary<Array<Omit<Entry, 'index'>>> {
  return fc
    .record({
      n: fc.constantFrom('l', 'd', 'd/l'),
      s: fc.constantFrom('secret', 'dir', 'dir/f', 'evil'),
      target: fc.constantFrom(box.outside, '../outside', '../../outside', `${box.box}/a/b/outside/`),
      before: fc.constantFrom('opaque', 'whiteout', 'file', 'directory', 'none'),
      after: fc.constantFrom('opaque', 'whiteout', 'file', 'directory', 'hardlink', 'symlink', 'device', 'none'),
    })
    .map(({ n, s, target, before, after }) => {
      // The symlink's target is relative to its own directory: one more ".." for each level of n.
      const relativeTarget = target.startsWith('../') ? '../'.repeat(n.split('/').length - 1) + target : target;
      const made = (step: string) => {
        const parent = posix.dirname(`${n}/${s}`);
        const base = posix.basename(s);
        switch (step) {
          case 'opaque': return [plain(`${n}/${s}/.wh..wh..opq`, 'file')];
          case 'whiteout': return [plain(`${parent}/.wh.${base}`, 'file')];
          case 'file': return [plain(`${n}/${s}`, 'file')];
          case 'directory': return [plain(`${n}/${s}/`, 'directory')];
          case 'hardlink': return [plain('h', 'link', `${n}/${s}`)];
          case 'symlink': return [plain(`${n}/${s}`, 'symlink', 'x')];
          case 'device': return [plain(`${n}/${s}`, 'fifo')];
          default: return [];
        }
      };
      return [...made(before), plain(n, 'symlink', relativeTarget), ...made(after)];
    });
}

/** An entry's data: its own, so that a file found in the root can be traced to its entry. */
function dataOf(entry: Entry): string {
  if (entry.type !== 'file' && entry.type !== 'contiguous-file') return '';
  return entry.big ? `entry ${entry.index}\n`.padEnd(1024 * 1024 + 10, '.') : `entry ${entry.index}\n`;
}

/** The archive tar-stream packs from entries, with the header patches applied. */
async function tarOf(list: Entry[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    archive.on('end', () => resolve());
    archive.on('error', reject);
  });
  for (const entry of list) {
    const { name, type, linkname, mode, uid, gid, mtime, devmajor, devminor, pax } = entry;
    const data = dataOf(entry);
    archive.entry({ name, type, linkname, mode, uid, gid, mtime, devmajor, devminor, ...(pax === undefined ? {} : { pax }), size: Buffer.byteLength(data) }, data);
  }
  archive.finalize();
  await done;
  const tar = Buffer.concat(chunks);
  const offsets = entryHeaders(tar);
  for (const [index, entry] of list.entries()) {
    const offset = offsets[index];
    if (offset === undefined) continue;
    for (const { field, bytes } of entry.patches) {
      const [start, length] = FIELDS[field];
      tar.fill(0, offset + start, offset + start + length);
      Buffer.from(bytes.slice(0, length)).copy(tar, offset + start);
    }
    if (entry.patches.length > 0) writeChecksum(tar, offset);
  }
  return tar;
}

/** The offsets of the entries' own headers (past their pax headers), in order. */
function entryHeaders(tar: Buffer): number[] {
  const offsets: number[] = [];
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const size = parseInt(header.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    if (header[156] !== 0x78 /* x: pax */) offsets.push(offset);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return offsets;
}

function writeChecksum(tar: Buffer, offset: number): void {
  tar.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = offset; i < offset + 512; i++) sum += tar[i]!;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, offset + 148, 'latin1');
}

/**
 * Everything under dir but the root, as lines: type, mode, owner, size, links, times, content; and
 * every path's extended attributes (all namespaces, trusted.overlay.* included), read in one go.
 */
function snapshot(dir: string, root: string): string[] {
  const lines: string[] = [];
  const paths: string[] = [];
  const walk = (path: string) => {
    if (path === root) return;
    const stats = lstatSync(path);
    const kind = stats.isSymbolicLink() ? `-> ${readlinkSync(path)}` : stats.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : stats.isDirectory() ? 'dir' : `special ${stats.mode} ${stats.rdev}`;
    lines.push(`${path} ${stats.mode} ${stats.uid}:${stats.gid} ${stats.size} ${stats.nlink} ${stats.mtimeMs} ${kind}`);
    paths.push(path);
    if (stats.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
  };
  walk(dir);
  const xattrs = spawnSync('getfattr', ['--absolute-names', '-h', '-d', '-m', '-', '-e', 'hex', ...paths], { encoding: 'utf8' });
  assert.equal(xattrs.error, undefined, 'getfattr runs');
  return [...lines, ...xattrs.stdout.split('\n').filter((line) => line !== '')];
}

/** Every path under root (relative), with its lstat: symlinks are not followed. */
function tree(root: string): Array<{ path: string; stats: ReturnType<typeof lstatSync> & object }> {
  const found: Array<{ path: string; stats: ReturnType<typeof lstatSync> & object }> = [];
  const walk = (relative: string) => {
    for (const name of readdirSync(join(root, relative))) {
      const path = relative === '' ? name : `${relative}/${name}`;
      const stats = lstatSync(join(root, path));
      found.push({ path, stats });
      if (stats.isDirectory()) walk(path);
    }
  };
  walk('');
  return found;
}

/** A tar name as unpackTar reads it: relative to the root, "." and ".." resolved, no trailing "/". */
function normalised(name: string): string {
  const path = posix.normalize(name.replace(/^\/+/, '')).replace(/\/$/, '');
  return path === '.' ? '' : path;
}

/**
 * Unpacks tar into the box's root and checks what must hold however it ends: a result or a
 * BerthError, the box outside the root as it was, the root still a directory, and (when the entries
 * are known) no device or fifo in the root that the archive did not ask for.
 */
async function checkUnpack(box: Box, tar: Buffer, options: ExtractOptions, list: Entry[] | undefined): Promise<ExtractResult | undefined> {
  const before = snapshot(box.box, box.root);
  const source = options.gzip ? gzipSync(tar) : tar;
  const result = await resolvesOrRefuses(() => unpackTar(Readable.from([source]), box.root, options), ['invalid_argument'], `unpackTar (${options.archive ?? 'layer'}${options.gzip ? ', gzip' : ''})`);
  assert.deepEqual(snapshot(box.box, box.root), before, 'nothing outside the root changed: no write through a name, a symlink or a hardlink');
  assert.ok(lstatSync(box.root).isDirectory(), 'the root is still a directory, not a symlink');
  const found = tree(box.root);
  checkSpecialFiles(found, await headersOf(tar), options);
  if (result !== undefined) {
    assert.equal(result.diffId, `sha256:${createHash('sha256').update(tar).digest('hex')}`, 'the diff id is the digest of the uncompressed tar');
    if (list !== undefined) {
      // What was written came from the archive: each file holds some entry's data (or none). A pax
      // size says how many of the archive's bytes are the entry's, as readers (GNU tar, Go's) take
      // it, whatever the entry was written with: its file holds those bytes, checked by the diff id.
      const data = new Set(['', ...list.map(dataOf)]);
      const resized = list.some((entry) => entry.pax?.size !== undefined);
      for (const { path, stats } of found) {
        if (stats.isFile() && !resized) assert.ok(data.has(readFileSync(join(box.root, path), 'latin1')), `${path} holds data no entry had`);
      }
      assert.ok(result.entries <= list.length, `${result.entries} entries written of ${list.length}`);
    }
  }
  return result;
}

/** Runs fn with a new box, removed after it. */
async function withBox<T>(fn: (box: Box) => Promise<T>): Promise<T> {
  const box = newBox();
  try {
    return await fn(box);
  } finally {
    rmSync(box.box, { recursive: true, force: true });
  }
}

/**
 * The names and kinds of the archive's entries, as a tar reader sees them (a pax header's path, an
 * empty one falling back to the header's name, "PaxHeader" when tar-stream wrote one), up to the
 * first entry it cannot read.
 */
async function headersOf(tar: Buffer): Promise<Array<{ name: string; type: string }>> {
  const found: Array<{ name: string; type: string }> = [];
  try {
    for await (const entry of Readable.from([tar]).pipe(extract())) {
      found.push({ name: entry.header.name, type: entry.header.type ?? '' });
      entry.resume();
    }
  } catch {
    // What follows a damaged header is never unpacked either.
  }
  return found;
}

/**
 * Devices and fifos in the root are there because the archive has them: unpackTar creates the
 * device and fifo entries it is given (it runs as root, for layers that carry /dev nodes), and in a
 * layer a whiteout (.wh.NAME) is a 0/0 character device; nothing else may become one.
 */
function checkSpecialFiles(found: ReturnType<typeof tree>, headers: Array<{ name: string; type: string }>, options: ExtractOptions): void {
  const named = (type: string) => new Set(headers.filter((header) => header.type === type).map((header) => normalised(header.name)));
  const characterDevices = named('character-device');
  const blockDevices = named('block-device');
  const fifos = named('fifo');
  const whiteouts = new Set(
    (options.archive ?? 'layer') === 'layer'
      ? headers
          .map((header) => normalised(header.name))
          .filter((path) => posix.basename(path).startsWith('.wh.'))
          .map((path) => posix.join(posix.dirname(path), posix.basename(path).slice('.wh.'.length)))
      : [],
  );
  for (const { path, stats } of found) {
    if (stats.isCharacterDevice()) assert.ok(characterDevices.has(path) || (whiteouts.has(path) && stats.rdev === 0), `${path}: a character device no entry asked for`);
    if (stats.isBlockDevice()) assert.ok(blockDevices.has(path), `${path}: a block device no entry asked for`);
    if (stats.isFIFO()) assert.ok(fifos.has(path), `${path}: a fifo no entry asked for`);
    assert.ok(!stats.isSocket(), `${path}: a socket`);
  }
}
const extractOptions = fc.record({ gzip: fc.boolean(), archive: fc.constantFrom<NonNullable<ExtractOptions['archive']>>('layer', 'copy', 'volume') });

/**
 * Names and targets are drawn with the placeholder /BOX for the box's path, which is new in each run;
 * this puts the run's own path in.
 */
const TEMPLATE: Box = { box: '/BOX', root: '/BOX/a/b/root', outside: '/BOX/a/b/outside' };

function rewrite(entry: Entry, box: Box): Entry {
  const fix = (text: string) => text.split(TEMPLATE.box).join(box.box);
  return {
    ...entry,
    name: fix(entry.name),
    ...(entry.linkname === undefined ? {} : { linkname: fix(entry.linkname) }),
    ...(entry.pax === undefined ? {} : { pax: Object.fromEntries(Object.entries(entry.pax).map(([key, value]) => [key, fix(value)])) }),
  };
}

test('archives of hostile entries unpack or fail with a BerthError, and never write outside the root', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['mknod', 'setfattr', 'getfattr'] })) return;
  let unpacked = 0;
  await fc.assert(
    fc.asyncProperty(entries(TEMPLATE), extractOptions, (drawn, options) =>
      withBox(async (box) => {
        const list = drawn.map((entry) => rewrite(entry, box));
        if ((await checkUnpack(box, await tarOf(list), options, list)) !== undefined) unpacked++;
      }),
    ),
    fuzzParameters(200),
  );
  // Archives that all failed would test one refusal over and over; many should unpack.
  assert.ok(unpacked >= 20, `only ${unpacked} archives unpacked`);
});

test('corrupted archives (flipped bytes, cut short) unpack or fail with a BerthError, and never write outside the root', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['mknod', 'setfattr', 'getfattr'] })) return;
  await fc.assert(
    fc.asyncProperty(
      entries(TEMPLATE),
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 8 }),
      onceIn(3, fc.nat()),
      extractOptions,
      (drawn, flips, cut, options) =>
        withBox(async (box) => {
          let tar = await tarOf(drawn.map((entry) => rewrite(entry, box)));
          // Most flips land in a header (the first 512 bytes of an entry), where they change the most.
          const headers = entryHeaders(tar);
          for (const [at, value] of flips) {
            const base = headers.length > 0 && at % 4 !== 0 ? headers[at % headers.length]! : 0;
            tar[(base + (at % 512)) % tar.length] = value;
          }
          if (cut !== null) tar = tar.subarray(0, cut % (tar.length + 1));
          await checkUnpack(box, tar, options, undefined);
        }),
    ),
    fuzzParameters(150),
  );
});

test('what fuzzing found stays fixed: opaque markers, header numbers, devices, xattrs, names', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['mknod', 'setfattr', 'getfattr'] })) return;
  const entry = (name: string, type: Kind, more: Partial<Entry> = {}): Entry => ({ ...plain(name, type), index: 0, ...more });
  const refused = async (list: Entry[], message: RegExp) =>
    withBox(async (box) => {
      const entries = list.map((e) => rewrite(e, box));
      await rejectsWith(unpackTar(Readable.from([await tarOf(entries)]), box.root, { gzip: false }), 'invalid_argument', message);
    });

  // An opaque marker was set at the end, through a symlink a later entry had put in its path.
  await withBox(async (box) => {
    const list = [entry('l/secret/.wh..wh..opq', 'file'), entry('l', 'symlink', { linkname: box.outside })];
    const before = snapshot(box.box, box.root);
    const result = await unpackTar(Readable.from([await tarOf(list)]), box.root, { gzip: false });
    assert.deepEqual(result.opaque, ['l/secret']);
    assert.deepEqual(snapshot(box.box, box.root), before, 'the sentinel has no trusted.overlay.opaque');
  });
  // Header numbers no file can have: NaN and -1 owners, a major past 12 bits.
  await refused([entry('f', 'file', { patches: [{ field: 'gid', bytes: [0x78, 0x79, 0] }] })], /invalid owner 0:NaN/);
  await refused([entry('f', 'file', { patches: [{ field: 'uid', bytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe] }] })], /invalid owner -1:0/);
  await refused([entry('d', 'character-device', { devmajor: 5000, devminor: 1 })], /device number 5000:1/);
  // xattrs the kernel refuses (no namespace), names past 255 bytes, NUL bytes, empty link targets.
  await refused([entry('f', 'file', { pax: { 'SCHILY.xattr.user.': 'x' } })], /extended attribute "user\." that cannot be set/);
  await refused([entry('x'.repeat(256), 'file')], /too long for Linux/);
  await refused([entry('f', 'file', { pax: { path: 'a\0b' } })], /NUL byte in its name/);
  await refused([entry('s', 'symlink', { linkname: '' })], /empty link target/);
});
