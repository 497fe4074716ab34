import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { isBerthError } from '../../../libs/errors';
import { createClient } from '../../../libs/grpc';
import { imagestore } from '../../../libs/proto';
import { prepareImage } from '../../../services/runtime-agent/images';
import { LayerStore } from '../../../services/runtime-agent/layers';
import { berth, busyboxLayer, requirePrerequisites, startService } from '../../support';

test('an image is resolved through the image-store and its layers unpacked from ReadBlob streams', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true })) return;
  const store = await startService(t, 'image-store');
  const work = mkdtempSync(join(tmpdir(), 'berth-prepare-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  writeFileSync(join(work, 'rootfs.tar'), gunzipSync((await busyboxLayer()).blob));
  const imported = await berth(['import', '-c', 'CMD ["sh"]', join(work, 'rootfs.tar'), 'busybox:test'], store.env);
  assert.equal(imported.code, 0, imported.stderr);

  const client = createClient(imagestore.ImageStoreServiceClient, store.endpoint, { deadlineMs: 30_000 });
  t.after(() => client.close());
  const layers = new LayerStore(join(work, 'layers'));
  await layers.init();

  const prepared = await prepareImage(client, store.endpoint, layers, 'busybox:test');
  assert.equal(prepared.id, imported.stdout.trim());
  assert.equal(prepared.reference, 'docker.io/library/busybox:test');
  assert.deepEqual(prepared.config.cmd, ['sh']);
  assert.equal(prepared.layerDirs.length, 1);
  assert.ok(existsSync(join(prepared.layerDirs[0]!, 'bin', 'busybox')));
  assert.deepEqual(await prepareImage(client, store.endpoint, layers, prepared.id), { ...prepared, reference: '' }, 'by id, from the layers already here');

  await assert.rejects(prepareImage(client, store.endpoint, layers, 'never/pulled'), (err: unknown) => isBerthError(err, 'not_found'));
});
