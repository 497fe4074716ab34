import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import { createClient, fromServiceError, unaryCall } from '../../../libs/grpc';
import { imagestore } from '../../../libs/proto';
import { buildImage, rejectsWith, startService, type RunningService } from '../../support';
import { writeBlob } from './blob-upload';

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function client(t: TestContext, store: RunningService) {
  const c = createClient(imagestore.ImageStoreServiceClient, store.endpoint, { deadlineMs: 30_000 });
  t.after(() => c.close());
  return c;
}

async function readBlob(c: imagestore.ImageStoreServiceClient, digest: string, offset = 0, length = 0): Promise<{ data: Buffer; size: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const message of c.readBlob({ digest, offset, length })) {
      const m = message as imagestore.ReadBlobResponse;
      if (m.size > 0) size = m.size;
      chunks.push(Buffer.from(m.data));
    }
  } catch (err) {
    throw fromServiceError(err as ServiceError);
  }
  return { data: Buffer.concat(chunks), size };
}

test('WriteBlob verifies digest and size before a blob is visible; ReadBlob serves ranges', { timeout: 60_000 }, async (t) => {
  const store = await startService(t, 'image-store');
  const c = client(t, store);
  const data = randomBytes(300_000);
  const digest = sha256(data);

  const written = await writeBlob(c, { digest, size: data.length }, data);
  assert.deepEqual(written, { digest, size: data.length, alreadyExisted: false });
  assert.deepEqual(await readBlob(c, digest), { data, size: data.length });
  assert.deepEqual((await readBlob(c, digest, 1000, 5000)).data, data.subarray(1000, 6000));
  assert.deepEqual((await readBlob(c, digest, 299_990)).data, data.subarray(299_990));
  await rejectsWith(readBlob(c, digest, 400_000), 'invalid_argument', /outside blob/);
  await rejectsWith(readBlob(c, sha256(Buffer.from('absent'))), 'not_found', /not found/);
  await rejectsWith(readBlob(c, '../../etc/passwd'), 'invalid_argument', /invalid digest/);

  // The same blob three times at once: stored once, the others told it exists.
  const again = await Promise.all([1, 2, 3].map(() => writeBlob(c, { digest, size: data.length }, data)));
  assert.ok(again.every((r) => r.digest === digest && r.alreadyExisted));
  const other = randomBytes(200_000);
  const concurrent = await Promise.all([1, 2, 3].map(() => writeBlob(c, { digest: sha256(other), size: other.length }, other)));
  assert.equal(concurrent.filter((r) => !r.alreadyExisted).length, 1, 'one of the concurrent writes stores it');

  const wrong = randomBytes(1000);
  await rejectsWith(writeBlob(c, { digest: sha256(Buffer.from('something else')), size: wrong.length }, wrong), 'invalid_argument', /does not match its digest/);
  const truncated = randomBytes(1000);
  await rejectsWith(writeBlob(c, { digest: sha256(truncated), size: 2000 }, truncated), 'invalid_argument', /truncated: 1000 of 2000 bytes/);
  await rejectsWith(writeBlob(c, { digest: sha256(truncated), size: 10 }, truncated), 'invalid_argument', /larger than its 10 bytes/);
  for (const refused of [sha256(truncated), sha256(Buffer.from('something else'))]) {
    await rejectsWith(readBlob(c, refused), 'not_found', /not found/);
  }
  assert.deepEqual(readdirSync(join(store.stateDir, 'content', 'ingest')), [], 'no partial write is left');
});

test('PutImage records an image from stored layers; Resolve gives a runtime what it needs', { timeout: 60_000 }, async (t) => {
  const store = await startService(t, 'image-store');
  const c = client(t, store);
  const image = await buildImage({ os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' });
  const layers = image.layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.blob.length, annotations: {}, platform: undefined }));
  const put = (request: Partial<imagestore.PutImageRequest>) =>
    unaryCall<imagestore.PutImageResponse>(store.endpoint, (m, o, cb) =>
      c.putImage({ config: image.config, layers, tags: ['built/app:1', 'built/app:latest'], eventAction: 'build', buildCache: false, ...request }, m, o, cb),
    );

  await rejectsWith(put({}), 'invalid_argument', /is not in the store: write it first/);
  for (const layer of image.layers) await writeBlob(c, { digest: layer.digest, size: layer.blob.length }, layer.blob);
  await rejectsWith(put({ layers: layers.slice(1) }), 'invalid_argument', /lists 2 layers .* but 1 were given/);
  await rejectsWith(put({ tags: ['bad//tag'] }), 'invalid_argument', /invalid reference format/);

  const recorded = await put({});
  assert.equal(recorded.image!.id, image.configDigest);
  assert.deepEqual(recorded.image!.repoTags, ['docker.io/built/app:1', 'docker.io/built/app:latest']);
  const manifest = JSON.parse((await readBlob(c, recorded.manifest!.digest)).data.toString()) as { layers: Array<{ digest: string }> };
  assert.deepEqual(manifest.layers.map((l) => l.digest), image.layers.map((l) => l.digest));

  const resolved = await unaryCall<imagestore.ResolveResponse>(store.endpoint, (m, o, cb) => c.resolve({ image: 'built/app:1', platform: '' }, m, o, cb));
  assert.equal(resolved.id, image.configDigest);
  assert.equal(resolved.reference, 'docker.io/built/app:1');
  assert.deepEqual(resolved.diffIds, image.layers.map((l) => l.diffId));
  assert.deepEqual(resolved.layers.map((l) => l.digest), image.layers.map((l) => l.digest));
  assert.deepEqual(resolved.config!.cmd, ['sh']);
  assert.deepEqual(JSON.parse(Buffer.from(resolved.rawConfig).toString()), JSON.parse(image.config.toString()));
  await rejectsWith(
    unaryCall(store.endpoint, (m, o, cb) => c.resolve({ image: 'built/app:1', platform: 'linux/s390x' }, m, o, cb)),
    'invalid_argument',
    /is for linux\/.*, not linux\/s390x/,
  );
  const byPrefix = await unaryCall<imagestore.InspectResponse>(store.endpoint, (m, o, cb) => c.inspect({ image: image.configDigest.slice(7, 19) }, m, o, cb));
  assert.equal(byPrefix.image!.summary!.id, image.configDigest);
});
