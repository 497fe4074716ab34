import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { berth, buildImage, registryManifest, requirePrerequisites, seedRegistry, startRegistry, startImageStoreWithRuntime, startService, type RunningService } from '../../support';

const HOST_PLATFORM = { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' };

interface InspectedImage {
  summary: { id: string; repoTags: string[]; repoDigests: string[] };
  architecture: string;
  os: string;
}

async function inspect(store: RunningService, image: string): Promise<InspectedImage> {
  const result = await berth(['image', 'inspect', image], store.env);
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as InspectedImage[])[0]!;
}

async function ok(store: RunningService, args: string[]): Promise<string> {
  const result = await berth(args, store.env, 120_000);
  assert.equal(result.code, 0, `berth ${args.join(' ')} failed:\n${result.stdout}${result.stderr}\n${store.output().slice(-3000)}`);
  return result.stdout;
}

test('pull from docker-registry, push to another, pull back: ids and digests identical', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['docker-registry', 'skopeo'] })) return;
  const [source, target] = await Promise.all([startRegistry(), startRegistry()]);
  t.after(() => Promise.all([source.stop(), target.stop()]));
  const image = await buildImage(HOST_PLATFORM);
  seedRegistry(t, source.host, 'test/app:1', [image]);
  const store = await startImageStoreWithRuntime(t);

  const pulled = await ok(store, ['pull', `${source.host}/test/app:1`]);
  assert.match(pulled, /Pull complete/);
  assert.match(pulled, new RegExp(`Digest: ${image.manifestDigest}`));
  const first = await inspect(store, `${source.host}/test/app:1`);
  assert.equal(first.summary.id, image.configDigest, 'the image id is its config digest');
  assert.deepEqual(first.summary.repoDigests, [`${source.host}/test/app@${image.manifestDigest}`]);

  // A second repository on the same registry: the blobs are mounted, not uploaded again.
  await ok(store, ['tag', `${source.host}/test/app:1`, `${source.host}/test/copy:2`]);
  const mounted = await ok(store, ['push', `${source.host}/test/copy:2`]);
  assert.match(mounted, /Mounted from test\/app/);
  assert.equal((await registryManifest(source.host, 'test/copy', '2')).digest, image.manifestDigest);

  // Another registry: every blob is uploaded.
  await ok(store, ['tag', `${source.host}/test/app:1`, `${target.host}/pushed/app:3`]);
  const uploaded = await ok(store, ['push', `${target.host}/pushed/app:3`]);
  assert.match(uploaded, /Pushed/);
  assert.equal((await registryManifest(target.host, 'pushed/app', '3')).digest, image.manifestDigest);
  const again = await ok(store, ['push', `${target.host}/pushed/app:3`]);
  assert.match(again, /Layer already exists/);

  const removed = await ok(store, ['rmi', `${source.host}/test/app:1`, `${source.host}/test/copy:2`, `${target.host}/pushed/app:3`]);
  assert.match(removed, new RegExp(`Deleted: ${image.configDigest}`));
  const images = await ok(store, ['images', '-q']);
  assert.equal(images.trim(), '');

  await ok(store, ['pull', `${target.host}/pushed/app:3`]);
  const back = await inspect(store, `${target.host}/pushed/app:3`);
  assert.equal(back.summary.id, image.configDigest);
  assert.deepEqual(back.summary.repoDigests, [`${target.host}/pushed/app@${image.manifestDigest}`]);
  const history = await ok(store, ['history', `${target.host}/pushed/app:3`]);
  assert.match(history, /test layer 1/);
});

test('a registry with basic auth: refused without login, works after berth login, refused after logout', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['docker-registry', 'skopeo', 'htpasswd'] })) return;
  const registry = await startRegistry({ user: { name: 'alice', password: 's3cret' } });
  t.after(() => registry.stop());
  const image = await buildImage(HOST_PLATFORM);
  seedRegistry(t, registry.host, 'private/app:1', [image], 'alice:s3cret');
  const store = await startImageStoreWithRuntime(t);
  const name = `${registry.host}/private/app:1`;

  const anonymous = await berth(['pull', name], store.env);
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, /authentication required \(401\)/);

  const wrong = await runLogin(store, registry.host, 'alice', 'wrong');
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /401/);

  const login = await runLogin(store, registry.host, 'alice', 's3cret');
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /Login Succeeded/);
  assert.equal(statSync(store.env.BERTH_REGISTRIES_AUTH_FILE!).mode & 0o777, 0o600, 'the credentials file is private');

  await ok(store, ['pull', name]);
  assert.equal((await inspect(store, name)).summary.id, image.configDigest);
  await ok(store, ['tag', name, `${registry.host}/private/other:2`]);
  await ok(store, ['push', `${registry.host}/private/other:2`]);
  assert.equal((await registryManifest(registry.host, 'private/other', '2', `Basic ${Buffer.from('alice:s3cret').toString('base64')}`)).digest, image.manifestDigest);

  assert.match(await ok(store, ['logout', registry.host]), /Removing login credentials/);
  await ok(store, ['rmi', name, `${registry.host}/private/other:2`]);
  const after = await berth(['pull', name], store.env);
  assert.equal(after.code, 1);
});

function runLogin(store: RunningService, host: string, user: string, password: string) {
  return berth(['login', '-u', user, '-p', password, host], store.env);
}

test('a multi-platform index: the host platform by default, another with --platform', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['docker-registry', 'skopeo'] })) return;
  const registry = await startRegistry();
  t.after(() => registry.stop());
  const other = HOST_PLATFORM.architecture === 'amd64' ? { os: 'linux', architecture: 'arm64', variant: 'v8' } : { os: 'linux', architecture: 'amd64' };
  const [native, foreign] = await Promise.all([buildImage(HOST_PLATFORM), buildImage(other)]);
  const indexDigest = seedRegistry(t, registry.host, 'multi/app:1', [native, foreign]);
  const store = await startService(t, 'image-store');
  const name = `${registry.host}/multi/app:1`;

  await ok(store, ['pull', name]);
  const host = await inspect(store, name);
  assert.equal(host.summary.id, native.configDigest);
  assert.equal(host.architecture, HOST_PLATFORM.architecture);
  assert.deepEqual(host.summary.repoDigests, [`${registry.host}/multi/app@${indexDigest}`], 'the repo digest is the index');

  await ok(store, ['pull', '--platform', `linux/${other.architecture}`, name]);
  const picked = await inspect(store, name);
  assert.equal(picked.summary.id, foreign.configDigest);
  assert.equal(picked.architecture, other.architecture);

  const missing = await berth(['pull', '--platform', 'linux/s390x', name], store.env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /has no image for linux\/s390x \(it has: linux\/.*, linux\/.*\)/);
});
