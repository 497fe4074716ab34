import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ServiceError } from '@grpc/grpc-js';
import { fromServiceError } from '../../../libs/grpc';
import type { volume } from '../../../libs/proto';
import { buildLayer, rejectsWith, requirePrerequisites, startVolumeService, streamEvents, type VolumeSuite } from '../../support';
import { treeListing } from './tree';

const create = (suite: VolumeSuite, request: Partial<volume.CreateRequest>) =>
  suite.call<volume.CreateResponse>((c, m, o, cb) => c.create({ name: '', driver: '', labels: {}, options: {}, anonymous: false, ...request }, m, o, cb)).then((r) => r.volume!);
const inspect = (suite: VolumeSuite, name: string) => suite.call<volume.InspectResponse>((c, m, o, cb) => c.inspect({ name }, m, o, cb)).then((r) => r.volume!);
const list = (suite: VolumeSuite, filters: Record<string, string[]> = {}) =>
  suite
    .call<volume.ListResponse>((c, m, o, cb) => c.list({ filters: Object.fromEntries(Object.entries(filters).map(([k, values]) => [k, { values }])) }, m, o, cb))
    .then((r) => r.volumes.map((v) => v.name));
const remove = (suite: VolumeSuite, name: string, force = false) => suite.call((c, m, o, cb) => c.remove({ name, force }, m, o, cb));
const use = (suite: VolumeSuite, containerId: string, name: string) =>
  suite.call<volume.UseResponse>((c, m, o, cb) => c.use({ containerId, name, createIfMissing: false, options: {}, labels: {} }, m, o, cb)).then((r) => r.volume!);
const mount = (suite: VolumeSuite, containerId: string, name: string, populateFrom = '') =>
  suite.call<volume.MountResponse>((c, m, o, cb) => c.mount({ containerId, name, populateFrom }, m, o, cb));
const unmount = (suite: VolumeSuite, containerId: string, name: string) => suite.call((c, m, o, cb) => c.unmount({ containerId, name }, m, o, cb));
const release = (suite: VolumeSuite, containerId: string, name: string, removeAnonymous = false) =>
  suite.call<volume.ReleaseResponse>((c, m, o, cb) => c.release({ containerId, name, removeAnonymous }, m, o, cb));

const CONTAINER_A = 'a'.repeat(64);
const CONTAINER_B = 'b'.repeat(64);

async function exportTar(suite: VolumeSuite, name: string): Promise<{ mountedBy: string[]; tar: Buffer }> {
  const chunks: Buffer[] = [];
  let mountedBy: string[] | undefined;
  try {
    for await (const message of suite.client.export({ name }) as AsyncIterable<volume.ExportResponse>) {
      mountedBy ??= message.mountedBy;
      chunks.push(Buffer.from(message.data));
    }
  } catch (err) {
    throw fromServiceError(err as ServiceError);
  }
  return { mountedBy: mountedBy ?? [], tar: Buffer.concat(chunks) };
}

function importTar(suite: VolumeSuite, request: Partial<volume.CreateRequest>, tar: Buffer): Promise<volume.ImportResponse> {
  return new Promise((resolve, reject) => {
    const call = suite.client.import((err, response) => (err ? reject(fromServiceError(err)) : resolve(response)));
    call.write({ volume: { name: '', driver: '', labels: {}, options: {}, anonymous: false, ...request }, data: Buffer.alloc(0) });
    for (let offset = 0; offset < tar.length; offset += 64 * 1024) call.write({ volume: undefined, data: tar.subarray(offset, offset + 64 * 1024) });
    call.end();
  });
}

function hostDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-volume-host-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('create, inspect, list with filters, remove and prune: Docker semantics, events through the outbox', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const suite = await startVolumeService(t);

  const data = await create(suite, { name: 'data', labels: { tier: 'db' } });
  assert.equal(data.mountpoint, join(suite.root, 'data', '_data'));
  assert.ok(existsSync(data.mountpoint));
  assert.equal(data.driver, 'local');
  assert.equal((await create(suite, { name: 'data', labels: { tier: 'db' } })).name, 'data', 'the same create again gives the volume back');
  await rejectsWith(create(suite, { name: 'data', labels: { tier: 'web' } }), 'already_exists', /already exists with other options or labels/);
  const generated = await create(suite, { anonymous: true });
  assert.match(generated.name, /^[0-9a-f]{64}$/);

  for (const bad of ['../escape', 'a/b', '.hidden', 'x', 'has space']) {
    await rejectsWith(create(suite, { name: bad }), 'invalid_argument', /invalid volume name/);
  }
  await rejectsWith(create(suite, { name: 'remote', driver: 'nfs-plugin' }), 'invalid_argument', /unknown volume driver/);
  await rejectsWith(create(suite, { name: 'opts', options: { colour: 'red' } }), 'invalid_argument', /invalid option "colour"/);
  await rejectsWith(create(suite, { name: 'opts', options: { type: 'none', o: 'bind', device: '/does/not/exist' } }), 'invalid_argument', /does not exist on this host/);
  assert.ok(!existsSync(join(suite.root, 'opts')), 'a refused create leaves no directory');

  writeFileSync(join(data.mountpoint, 'blob'), Buffer.alloc(200_000, 1));
  const inspected = await inspect(suite, 'data');
  assert.ok(inspected.sizeBytes >= 200_000, `size ${inspected.sizeBytes}`);
  assert.deepEqual(inspected.labels, { tier: 'db' });
  await rejectsWith(inspect(suite, 'nope'), 'not_found', /no such volume: nope/);

  await create(suite, { name: 'logs' });
  await use(suite, CONTAINER_A, 'logs');
  assert.deepEqual(await list(suite), [generated.name, 'data', 'logs'].sort());
  assert.deepEqual(await list(suite, { label: ['tier=db'] }), ['data']);
  assert.deepEqual(await list(suite, { name: ['log'] }), ['logs']);
  assert.deepEqual(await list(suite, { dangling: ['false'] }), ['logs']);
  assert.deepEqual(await list(suite, { dangling: ['true'], 'label!': ['tier'] }), [generated.name]);
  await rejectsWith(list(suite, { colour: ['red'] }), 'invalid_argument', /invalid filter "colour"/);

  // prune takes unused anonymous volumes; with all, named ones too; never a used one.
  const pruned = await suite.call<volume.PruneResponse>((c, m, o, cb) => c.prune({ all: false, filters: {} }, m, o, cb));
  assert.deepEqual(pruned.deleted, [generated.name]);
  const prunedAll = await suite.call<volume.PruneResponse>((c, m, o, cb) => c.prune({ all: true, filters: {} }, m, o, cb));
  assert.deepEqual(prunedAll.deleted, ['data']);
  assert.ok(prunedAll.spaceReclaimed >= 200_000);
  assert.ok(!existsSync(join(suite.root, 'data')));
  assert.deepEqual(await list(suite), ['logs']);

  await rejectsWith(remove(suite, 'logs'), 'failed_precondition', /in use by container\(s\) aaaaaaaaaaaa: remove them first, or force/);
  await mount(suite, CONTAINER_A, 'logs');
  await rejectsWith(remove(suite, 'logs', true), 'failed_precondition', /in use by running container\(s\) aaaaaaaaaaaa: stop them first/);
  await unmount(suite, CONTAINER_A, 'logs');
  await remove(suite, 'logs', true);
  await rejectsWith(remove(suite, 'logs'), 'not_found', /no such volume: logs/);

  const events = await streamEvents(suite.env, 'volume', 10);
  const short = generated.name.slice(0, 12);
  assert.deepEqual(
    events.map((e) => `${e.action} ${e.actorId.slice(0, 12)}`.trim()),
    ['create data', `create ${short}`, 'create logs', `destroy ${short}`, 'prune', 'destroy data', 'prune', 'mount logs', 'unmount logs', 'destroy logs'],
  );
  assert.equal(events[0]!.attributes.tier, 'db', 'labels are attributes');
  assert.equal(events[7]!.attributes.container, CONTAINER_A);
});

/** A tree with what a backup must keep: owners, modes with setuid and sticky bits, links of both kinds. */
function fillVolume(data: string): void {
  chownSync(data, 999, 999);
  chmodSync(data, 0o750);
  mkdirSync(join(data, 'db'));
  writeFileSync(join(data, 'db', 'table'), 'rows\n'.repeat(10_000));
  chownSync(join(data, 'db', 'table'), 1000, 1001);
  chmodSync(join(data, 'db', 'table'), 0o640);
  writeFileSync(join(data, 'run'), '#!/bin/sh\n');
  chmodSync(join(data, 'run'), 0o4755);
  mkdirSync(join(data, 'shared'));
  chmodSync(join(data, 'shared'), 0o1777);
  symlinkSync('db/table', join(data, 'relative-link'));
  symlinkSync('/etc/shadow', join(data, 'absolute-link'));
  linkSync(join(data, 'db', 'table'), join(data, 'hard'));
}

test('export then import keeps bytes, owners, modes and links; clone too; a tar that escapes is refused and leaves nothing', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const suite = await startVolumeService(t);
  const source = await create(suite, { name: 'source' });
  fillVolume(source.mountpoint);

  const { mountedBy, tar } = await exportTar(suite, 'source');
  assert.deepEqual(mountedBy, []);
  const imported = await importTar(suite, { name: 'restored', labels: { from: 'backup' } }, tar);
  assert.equal(imported.entries, 7, 'every entry but the root');
  assert.deepEqual(imported.volume!.labels, { from: 'backup' });
  assert.deepEqual(treeListing(imported.volume!.mountpoint), treeListing(source.mountpoint));
  await rejectsWith(importTar(suite, { name: 'restored' }, tar), 'failed_precondition', /volume restored is not empty: import into a new or empty volume/);
  // A backup kept gzip-compressed imports the same.
  const unzipped = await importTar(suite, { name: 'from-gzip' }, gzipSync(tar));
  assert.deepEqual(treeListing(unzipped.volume!.mountpoint), treeListing(source.mountpoint));

  const cloned = await suite.call<volume.CloneResponse>((c, m, o, cb) => c.clone({ source: 'source', target: { name: 'copy', driver: '', labels: {}, options: {}, anonymous: false } }, m, o, cb));
  assert.deepEqual(treeListing(cloned.volume!.mountpoint), treeListing(source.mountpoint));
  await rejectsWith(
    suite.call((c, m, o, cb) => c.clone({ source: 'source', target: { name: 'copy', driver: '', labels: {}, options: {}, anonymous: false } }, m, o, cb)),
    'already_exists',
    /already exists/,
  );

  // Hostile archives: a climbing name, and a write through a symlink planted by an earlier entry.
  const outside = hostDir(t);
  const climbing = await buildLayer([
    { path: 'ok', type: 'file', content: 'fine' },
    { path: `../../../../../../../../..${join(outside, 'escaped')}`, type: 'file', content: 'owned' },
  ]);
  const throughLink = await buildLayer([
    { path: 'door', type: 'symlink', target: outside },
    { path: 'door/escaped', type: 'file', content: 'owned' },
  ]);
  for (const [what, layer] of [['climbing', climbing], ['through a link', throughLink]] as const) {
    const archive = gunzipSync(layer.blob);
    await rejectsWith(importTar(suite, { name: 'hostile' }, archive), 'invalid_argument', /leaves the volume's root|goes through the symlink/);
    assert.ok(!existsSync(join(outside, 'escaped')), what);
    assert.deepEqual(await list(suite, { name: ['hostile'] }), [], `the volume the import made is gone (${what})`);
  }
  const empty = await create(suite, { name: 'empty' });
  await rejectsWith(importTar(suite, { name: 'empty' }, gunzipSync(climbing.blob)), 'invalid_argument', /leaves/);
  assert.deepEqual(treeListing(empty.mountpoint).length, 1, 'an existing volume is left empty');
  assert.deepEqual(await list(suite, { name: ['empty'] }), ['empty'], 'and stays');
});

test('tmpfs volumes live while mounted; bind volumes never lose their host files; copy-up fills an empty volume once', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const suite = await startVolumeService(t);

  await create(suite, { name: 'scratch', options: { type: 'tmpfs', device: 'tmpfs', o: 'size=16m,mode=1777' } });
  await use(suite, CONTAINER_A, 'scratch');
  await use(suite, CONTAINER_B, 'scratch');
  const { path } = await mount(suite, CONTAINER_A, 'scratch');
  await mount(suite, CONTAINER_B, 'scratch');
  assert.match(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(`${path} .* - tmpfs `));
  writeFileSync(join(path, 'note'), 'kept while mounted');
  await unmount(suite, CONTAINER_A, 'scratch');
  assert.equal(readFileSync(join(path, 'note'), 'utf8'), 'kept while mounted', 'still mounted by the other container');
  await unmount(suite, CONTAINER_B, 'scratch');
  assert.ok(!existsSync(join(path, 'note')), 'gone with the last unmount');
  await rejectsWith(importTar(suite, { name: 'scratch' }, Buffer.alloc(1024)), 'invalid_argument', /tmpfs volume/);

  const host = hostDir(t);
  writeFileSync(join(host, 'precious'), 'host data');
  await create(suite, { name: 'bound', options: { type: 'none', o: 'bind', device: host } });
  await use(suite, CONTAINER_A, 'bound');
  const bound = await mount(suite, CONTAINER_A, 'bound');
  assert.equal(readFileSync(join(bound.path, 'precious'), 'utf8'), 'host data');
  await rejectsWith(remove(suite, 'bound', true), 'failed_precondition', /running container/);
  await unmount(suite, CONTAINER_A, 'bound');
  await release(suite, CONTAINER_A, 'bound');
  await remove(suite, 'bound');
  assert.equal(readFileSync(join(host, 'precious'), 'utf8'), 'host data', 'removing a bind volume leaves the host directory alone');

  // Copy-up: the image's content at the target fills an empty volume, owners and modes kept; not twice.
  const image = hostDir(t);
  fillVolume(image);
  const anonymous = await suite.call<volume.UseResponse>((c, m, o, cb) => c.use({ containerId: CONTAINER_A, name: '', createIfMissing: false, options: {}, labels: {} }, m, o, cb));
  const name = anonymous.volume!.name;
  assert.equal(anonymous.volume!.anonymous, true);
  const first = await mount(suite, CONTAINER_A, name, image);
  assert.equal(first.populated, true);
  assert.deepEqual(treeListing(first.path), treeListing(image));
  await unmount(suite, CONTAINER_A, name);
  writeFileSync(join(image, 'later'), 'not copied');
  assert.equal((await mount(suite, CONTAINER_A, name, image)).populated, false);
  await unmount(suite, CONTAINER_A, name);
  await rejectsWith(mount(suite, CONTAINER_B, name), 'failed_precondition', /does not use volume/);
  assert.deepEqual(await release(suite, CONTAINER_A, name, true), { removed: true }, 'rm -v removes an anonymous volume');
  assert.ok(!existsSync(join(suite.root, name)));
});
