import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClient, unaryCall } from '../../../libs/grpc';
import { imagestore } from '../../../libs/proto';
import { berth, buildImage, rejectsWith, requirePrerequisites, startImageStoreWithRuntime, type RunningService, type TestImage } from '../../support';
import { writeBlob } from './blob-upload';

const PLATFORM = { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' };

async function ok(store: RunningService, args: string[]): Promise<string> {
  const result = await berth(args, store.env, 60_000);
  assert.equal(result.code, 0, `berth ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

test('build cache: hidden from images without -a, kept by prune, deleted by ReleaseBuildCache unless named', { timeout: 120_000 }, async (t) => {
  // prune and release ask the runtime-agent whether containers use an image.
  if (!requirePrerequisites(t, { root: true })) return;
  const store = await startImageStoreWithRuntime(t);
  const c = createClient(imagestore.ImageStoreServiceClient, store.endpoint, { deadlineMs: 30_000 });
  t.after(() => c.close());
  const call = <Res>(invoke: (m: never, o: never, cb: never) => unknown) => unaryCall<Res>(store.endpoint, invoke as never);
  const put = async (image: TestImage, buildCache: boolean, tags: string[] = []) => {
    for (const layer of image.layers) await writeBlob(c, { digest: layer.digest, size: layer.blob.length }, layer.blob);
    const layers = image.layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.blob.length, annotations: {}, platform: undefined }));
    return call<imagestore.PutImageResponse>((m, o, cb) => c.putImage({ config: image.config, layers, tags, eventAction: 'build', buildCache }, m, o, cb));
  };
  const release = (imageIds: string[]) => call<imagestore.ReleaseBuildCacheResponse>((m, o, cb) => c.releaseBuildCache({ imageIds }, m, o, cb));
  const listed = async (all: boolean) => (await ok(store, ['images', '-q', '--no-trunc', ...(all ? ['-a'] : [])])).trim().split('\n');
  const [cached, named, removed] = await Promise.all([buildImage(PLATFORM), buildImage(PLATFORM), buildImage(PLATFORM)]);

  // Put first as an ordinary dangling image, then held: the hold marks an image that exists.
  await put(cached, false);
  assert.ok((await listed(false)).includes(cached.configDigest), 'a dangling image is listed');
  const { manifest } = await put(cached, true);
  await put(cached, false);
  assert.ok(!(await listed(false)).includes(cached.configDigest), 'build cache is hidden, and a put without the flag keeps the hold');
  assert.ok((await listed(true)).includes(cached.configDigest), 'images -a shows build cache');
  await put(named, true, ['cache/named:1']);
  assert.match(await ok(store, ['images']), /cache\/named\s+1/, 'named build cache is listed');

  assert.doesNotMatch(await ok(store, ['image', 'prune']), /deleted:/);
  assert.doesNotMatch(await ok(store, ['image', 'prune', '-a']), /deleted:/, 'prune -a keeps build cache, named or not');
  assert.deepEqual((await listed(true)).sort(), [cached.configDigest, named.configDigest].sort());

  // rmi by id still deletes build cache: the user asked for it.
  await put(removed, true);
  assert.match(await ok(store, ['rmi', removed.configDigest]), new RegExp(`Deleted: ${removed.configDigest}`));

  await rejectsWith(release(['not-an-id']), 'invalid_argument', /invalid digest "not-an-id"/);
  const released = await release([cached.configDigest, named.configDigest, removed.configDigest]);
  assert.deepEqual(released.deleted, [cached.configDigest], 'the unnamed image goes, the named one stays, the gone one is skipped');
  // The layers were uploaded under WriteBlob's lease, which outlives this test: its config and manifest are what is freed now.
  assert.ok(released.spaceReclaimed >= cached.config.length + manifest!.size, `reclaimed ${released.spaceReclaimed} bytes`);
  const blobs = readdirSync(join(store.stateDir, 'content', 'blobs', 'sha256'));
  assert.ok(!blobs.includes(cached.configDigest.slice(7)) && !blobs.includes(manifest!.digest.slice(7)), "the released image's config and manifest are gone");
  assert.deepEqual(await listed(true), [named.configDigest]);
  assert.deepEqual((await release([named.configDigest])).deleted, [], 'released again: nothing held, nothing done');

  // Only the hold went: with it, prune -a no longer spares the named image.
  assert.match(await ok(store, ['image', 'prune', '-a']), new RegExp(`deleted: ${named.configDigest}`));
});
