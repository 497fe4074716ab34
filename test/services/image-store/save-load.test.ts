import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test, type TestContext } from 'node:test';
import { pack } from 'tar-stream';
import { berth, buildImage, requirePrerequisites, seedRegistry, skopeoCopy, startRegistry, startService, type RunningService } from '../../support';

const PLATFORM = { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' };
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function temporaryDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-archive-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function ok(store: RunningService, args: string[]): Promise<string> {
  const result = await berth(args, store.env, 120_000);
  assert.equal(result.code, 0, `berth ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

async function images(store: RunningService): Promise<Array<{ id: string; repoTags: string[] }>> {
  return JSON.parse(await ok(store, ['images', '--format', 'json'])) as Array<{ id: string; repoTags: string[] }>;
}

/** A tar of the given files (and symlinks), as `docker save` of old wrote them. */
async function tarOf(files: Array<{ name: string; data?: Buffer; link?: string }>): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve) => archive.on('end', () => resolve()));
  for (const file of files) {
    if (file.link !== undefined) archive.entry({ name: file.name, type: 'symlink', linkname: file.link });
    else archive.entry({ name: file.name }, file.data!);
  }
  archive.finalize();
  await done;
  return Buffer.concat(chunks);
}

test('save, then load into another store: the same ids and names; skopeo reads the archive too', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['docker-registry', 'skopeo'] })) return;
  const registry = await startRegistry();
  t.after(() => registry.stop());
  const [a, b] = await Promise.all([buildImage(PLATFORM), buildImage(PLATFORM)]);
  for (const [name, image] of [['a', a], ['b', b]] as const) seedRegistry(t, registry.host, `test/${name}:1`, [image]);
  const [source, target] = await Promise.all([startService(t, 'image-store'), startService(t, 'image-store')]);
  await ok(source, ['pull', '-q', `${registry.host}/test/a:1`]);
  await ok(source, ['pull', '-q', `${registry.host}/test/b:1`]);

  const dir = temporaryDir(t);
  const archive = join(dir, 'images.tar');
  await ok(source, ['save', '-o', archive, `${registry.host}/test/a:1`, `${registry.host}/test/b:1`]);
  assert.ok(!existsSync(`${archive}.partial`));

  const loaded = await ok(target, ['load', '-i', archive]);
  assert.match(loaded, new RegExp(`Loaded image: ${registry.host}/test/a:1`));
  assert.match(loaded, new RegExp(`Loaded image: ${registry.host}/test/b:1`));
  const before = (await images(source)).map((i) => [i.id, i.repoTags]).sort();
  const after = (await images(target)).map((i) => [i.id, i.repoTags]).sort();
  assert.deepEqual(after, before, 'ids and names survive the round trip');
  const inspected = JSON.parse(await ok(target, ['image', 'inspect', `${registry.host}/test/a:1`])) as Array<{ manifest: { digest: string } }>;
  assert.equal(inspected[0]!.manifest.digest, a.manifestDigest, 'the manifest is kept byte for byte');

  // The archive is an OCI layout too: skopeo copies an image out of it unchanged.
  const out = temporaryDir(t);
  skopeoCopy(`oci-archive:${archive}:1`, `oci:${out}:copy`);
  const copied = (JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }).manifests[0]!.digest;
  assert.ok([a.manifestDigest, b.manifestDigest].includes(copied));

  const missing = await berth(['save', '-o', join(dir, 'none.tar'), 'never/saved'], source.env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no such image: never\/saved/);
  assert.ok(!existsSync(join(dir, 'none.tar')), 'a failed save leaves no file');
});

test("load reads the classic docker save layout, and refuses archives that are not images", { timeout: 60_000 }, async (t) => {
  const store = await startService(t, 'image-store');
  const image = await buildImage(PLATFORM);
  const layers = image.layers.map((l) => gunzipSync(l.blob));
  const configName = `${image.configDigest.slice(7)}.json`;
  const ids = layers.map((l) => sha256(l).slice(7));
  const dir = temporaryDir(t);

  // Old docker save: <id>/layer.tar uncompressed; a second image sharing the first layer links it.
  const classic = await tarOf([
    { name: configName, data: image.config },
    { name: `${ids[0]}/layer.tar`, data: layers[0]! },
    { name: `${ids[1]}/layer.tar`, data: layers[1]! },
    { name: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: configName, RepoTags: ['classic/app:1'], Layers: ids.map((id) => `${id}/layer.tar`) }])) },
  ]);
  writeFileSync(join(dir, 'classic.tar'), classic);
  assert.match(await ok(store, ['load', '-i', join(dir, 'classic.tar')]), /Loaded image: classic\/app:1/);
  const loaded = (await images(store)).find((i) => i.repoTags.includes('docker.io/classic/app:1'));
  assert.equal(loaded?.id, image.configDigest, 'the id is the config digest');

  const bad = async (name: string, data: Buffer, message: RegExp) => {
    writeFileSync(join(dir, name), data);
    const result = await berth(['load', '-i', join(dir, name)], store.env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, message);
  };
  await bad('empty.tar', await tarOf([{ name: 'hello.txt', data: Buffer.from('hi') }]), /the archive holds no image/);
  await bad('escape.tar', await tarOf([{ name: '../../etc/evil', data: Buffer.from('x') }, { name: 'manifest.json', data: Buffer.from('[]') }]), /lists no image/);
  await bad('garbage.tar', Buffer.from('this is not a tar archive at all, not even close'.repeat(20)), /holds no image|not a valid tar/);
  const tampered = await tarOf([
    { name: configName, data: image.config },
    { name: `${ids[0]}/layer.tar`, data: Buffer.concat([layers[0]!, Buffer.from('extra')]) },
    { name: `${ids[1]}/layer.tar`, data: layers[1]! },
    { name: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: configName, RepoTags: ['tampered/app:1'], Layers: ids.map((id) => `${id}/layer.tar`) }])) },
  ]);
  await bad('tampered.tar', tampered, /does not match the config's diff id/);
  assert.ok(!(await images(store)).some((i) => i.repoTags.includes('docker.io/tampered/app:1')));
  assert.ok(!existsSync(join(store.stateDir, '..', 'etc', 'evil')));
});
