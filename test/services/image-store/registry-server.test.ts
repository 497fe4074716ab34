import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { berth, buildImage, freePort, registryManifest, requirePrerequisites, skopeoCopy, startService, writeOciLayout } from '../../support';

const HOST_PLATFORM = { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' };

function temporaryDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The digest an OCI layout's index.json names for its one tag. */
function layoutDigest(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }).manifests[0]!.digest;
}

test("skopeo copies an OCI layout into Berth's registry server and back out, digests identical", { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['skopeo'] })) return;
  const port = await freePort();
  const store = await startService(t, 'image-store', { BERTH_REGISTRY_SERVER_LISTEN: `127.0.0.1:${port}` });
  const registry = `127.0.0.1:${port}`;

  // One platform: in, then out.
  const image = await buildImage(HOST_PLATFORM);
  const source = temporaryDir(t, 'berth-oci-in-');
  writeOciLayout(source, 'v1', [image]);
  skopeoCopy(`oci:${source}:v1`, `docker://${registry}/myapp:1`);
  const inspected = await berth(['image', 'inspect', 'myapp:1'], store.env);
  assert.equal(inspected.code, 0, inspected.stderr);
  const detail = (JSON.parse(inspected.stdout) as Array<{ summary: { id: string; repoTags: string[]; repoDigests: string[] } }>)[0]!;
  assert.equal(detail.summary.id, image.configDigest);
  assert.deepEqual(detail.summary.repoTags, ['docker.io/library/myapp:1']);
  assert.deepEqual(detail.summary.repoDigests, [`docker.io/library/myapp@${image.manifestDigest}`]);

  const out = temporaryDir(t, 'berth-oci-out-');
  skopeoCopy(`docker://${registry}/myapp:1`, `oci:${out}:copy`);
  assert.equal(layoutDigest(out), image.manifestDigest);
  assert.equal((await registryManifest(registry, 'myapp', '1')).digest, image.manifestDigest);

  // Several platforms: the index goes in whole and comes back out whole.
  const other = HOST_PLATFORM.architecture === 'amd64' ? { os: 'linux', architecture: 'arm64', variant: 'v8' } : { os: 'linux', architecture: 'amd64' };
  const [native, foreign] = await Promise.all([buildImage(HOST_PLATFORM), buildImage(other)]);
  const multi = temporaryDir(t, 'berth-oci-multi-');
  const indexDigest = writeOciLayout(multi, 'v2', [native, foreign]);
  skopeoCopy(`oci:${multi}:v2`, `docker://${registry}/multi/app:2`, { all: true });
  const multiOut = temporaryDir(t, 'berth-oci-multi-out-');
  skopeoCopy(`docker://${registry}/multi/app:2`, `oci:${multiOut}:copy`, { all: true });
  assert.equal(layoutDigest(multiOut), indexDigest);
  const hostImage = await berth(['images', '--format', 'json', 'multi/app:2'], store.env);
  assert.equal((JSON.parse(hostImage.stdout) as Array<{ id: string }>)[0]!.id, native.configDigest, "the tag names the host platform's image");

  const catalog = (await (await fetch(`http://${registry}/v2/_catalog`)).json()) as { repositories: string[] };
  assert.deepEqual(catalog.repositories, ['docker.io/library/myapp', 'docker.io/multi/app']);
  const tags = (await (await fetch(`http://${registry}/v2/myapp/tags/list`)).json()) as { tags: string[] };
  assert.deepEqual(tags.tags, ['1']);
});

test("the registry server refuses what the distribution spec says to refuse", { timeout: 60_000 }, async (t) => {
  const port = await freePort();
  await startService(t, 'image-store', { BERTH_REGISTRY_SERVER_LISTEN: `127.0.0.1:${port}` });
  const base = `http://127.0.0.1:${port}`;
  const errorCode = async (response: Response) => ((await response.json()) as { errors: Array<{ code: string }> }).errors[0]!.code;

  const unknown = await fetch(`${base}/v2/nothing/manifests/1`);
  assert.equal(unknown.status, 404);
  assert.equal(await errorCode(unknown), 'MANIFEST_UNKNOWN');

  const image = await buildImage(HOST_PLATFORM);
  const orphan = await fetch(`${base}/v2/app/manifests/1`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: image.manifest });
  assert.equal(orphan.status, 400);
  assert.equal(await errorCode(orphan), 'MANIFEST_BLOB_UNKNOWN');

  const garbage = await fetch(`${base}/v2/app/manifests/1`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: '{"schemaVersion": 2}' });
  assert.equal(garbage.status, 400);
  assert.equal(await errorCode(garbage), 'MANIFEST_INVALID');

  const started = await fetch(`${base}/v2/app/blobs/uploads/`, { method: 'POST' });
  assert.equal(started.status, 202);
  const location = new URL(started.headers.get('location')!, base);
  location.searchParams.set('digest', image.layers[1]!.digest);
  const wrong = await fetch(location, { method: 'PUT', body: Buffer.from('not the layer') });
  assert.equal(wrong.status, 400);
  assert.equal(await errorCode(wrong), 'DIGEST_INVALID');
  const absent = await fetch(`${base}/v2/app/blobs/${image.layers[1]!.digest}`, { method: 'HEAD' });
  assert.equal(absent.status, 404, 'a blob that failed verification is not stored');

  const monolithic = await fetch(`${base}/v2/app/blobs/uploads/?digest=${image.layers[1]!.digest}`, { method: 'POST', body: image.layers[1]!.blob });
  assert.equal(monolithic.status, 201);
  const ranged = await fetch(`${base}/v2/app/blobs/${image.layers[1]!.digest}`, { headers: { range: 'bytes=10-19' } });
  assert.equal(ranged.status, 206);
  assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), image.layers[1]!.blob.subarray(10, 20));

  const unsupported = await fetch(`${base}/v2/app/manifests/1`, { method: 'DELETE' });
  assert.equal(unsupported.status, 405);
});

test('the registry server listens beyond loopback only with TLS', async () => {
  const result = await berth(['system', 'info'], { ...process.env, BERTH_REGISTRY_SERVER_LISTEN: '0.0.0.0:5000' });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /registryServer.*listens beyond loopback only with TLS/);
});
