import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { isBerthError } from '../../../libs/errors';
import { LayerStore, type LayerToUnpack } from '../../../services/runtime-agent/layers';
import { mountOverlay, overlayDirs, unmountOverlay } from '../../../services/runtime-agent/rootfs';
import { buildImage, requirePrerequisites, type TestImage } from '../../support';

const PLATFORM = { os: 'linux', architecture: 'amd64' };

async function store(t: TestContext): Promise<LayerStore> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-layers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const layers = new LayerStore(join(dir, 'layers'));
  await layers.init();
  return layers;
}

function layersOf(image: TestImage): LayerToUnpack[] {
  return image.layers.map((l) => ({ digest: l.digest, diffId: l.diffId, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }));
}

/** Serves the images' blobs, as the image-store's ReadBlob would, and counts what was opened. */
function blobSource(...images: TestImage[]) {
  const blobs = new Map(images.flatMap((i) => i.layers.map((l): [string, Buffer] => [l.digest, l.blob])));
  const opened: string[] = [];
  return {
    opened,
    open: async (digest: string) => {
      opened.push(digest);
      return Readable.from([blobs.get(digest)!]);
    },
  };
}

test('layers unpack once into directories named by chain id, shared between images', async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const layers = await store(t);
  const [a, b] = await Promise.all([buildImage(PLATFORM), buildImage(PLATFORM)]);
  const source = blobSource(a, b);

  const dirsA = await layers.ensure(layersOf(a), source.open);
  const [d0, d1] = a.layers.map((l) => l.diffId);
  const second = `sha256:${createHash('sha256').update(`${d0} ${d1}`).digest('hex')}`;
  assert.deepEqual(dirsA, [layers.path(d0!), layers.path(second)], 'ChainID(L0) = DiffID(L0); ChainID(L0..L1) = sha256("c0 d1")');
  assert.ok(existsSync(join(dirsA[0]!, 'bin', 'busybox')));
  assert.match(readFileSync(join(dirsA[1]!, 'etc', 'test-image'), 'utf8'), /linux\/amd64/);

  const dirsB = await layers.ensure(layersOf(b), source.open);
  assert.equal(dirsB[0], dirsA[0], 'the shared base layer is one directory');
  assert.notEqual(dirsB[1], dirsA[1]);
  assert.equal(source.opened.filter((d) => d === a.layers[0]!.digest).length, 1, 'the shared layer was fetched once');
  assert.equal(readdirSync(layers.root).length, 3);
});

test('concurrent requests for one image unpack each layer once', async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const layers = await store(t);
  const image = await buildImage(PLATFORM);
  const source = blobSource(image);
  const results = await Promise.all([1, 2, 3, 4].map(() => layers.ensure(layersOf(image), source.open)));
  assert.ok(results.every((dirs) => JSON.stringify(dirs) === JSON.stringify(results[0])));
  assert.deepEqual([...source.opened].sort(), image.layers.map((l) => l.digest).sort());
});

test('a blob or a tar that does not match its digest is refused and leaves nothing', async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const layers = await store(t);
  const [image, other] = await Promise.all([buildImage(PLATFORM), buildImage(PLATFORM)]);
  const refused = async (layer: LayerToUnpack, blob: Buffer, message: RegExp) => {
    await assert.rejects(layers.ensure([layer], async () => Readable.from([blob])), (err: unknown) => {
      assert.ok(isBerthError(err, 'invalid_argument'), String(err));
      assert.match(err.message, message);
      return true;
    });
    assert.deepEqual(readdirSync(layers.root), [], 'no layer directory and no temporary one');
  };
  const [layer] = layersOf(image);
  await refused(layer!, other.layers[1]!.blob, /does not match its (digest|diff id)/);
  await refused({ ...layer!, diffId: other.layers[1]!.diffId }, image.layers[0]!.blob, /does not match its diff id/);
  await refused({ ...layer!, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }, image.layers[0]!.blob, /unsupported media type/);
  await refused(layer!, Buffer.from('not a gzip stream at all'), /not a valid gzip-compressed tar/);
});

test('an image of 100 layers mounts: the lower directories are named short, within the one page of mount options', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const layers = await store(t);
  const extraLayers = Array.from({ length: 98 }, (_, i) => [{ path: `layer-${i}`, type: 'file' as const, content: `${i}\n` }]);
  const image = await buildImage(PLATFORM, { extraLayers });
  assert.equal(image.layers.length, 100);
  const dirs = await layers.ensure(layersOf(image), blobSource(image).open);
  const container = overlayDirs(join(dirname(layers.root), 'container'));
  // Unmounted here, not in an after hook: the store's directory is removed by an earlier one.
  try {
    await mountOverlay(dirs, container);
    assert.equal(readFileSync(join(container.merged, 'layer-97'), 'utf8'), '97\n', 'the top layer');
    assert.equal(readFileSync(join(container.merged, 'layer-0'), 'utf8'), '0\n', 'a low one');
    assert.ok(existsSync(join(container.merged, 'bin', 'busybox')), 'the base');
  } finally {
    await unmountOverlay(container);
  }
});
