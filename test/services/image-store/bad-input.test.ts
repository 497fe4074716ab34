import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { berth, buildImage, startService, type RunningService } from '../../support';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A registry that answers as the test says: for failures a real registry does not produce on demand. */
async function fakeRegistry(t: TestContext, handler: Handler): Promise<string> {
  const server: Server = createServer((request, response) => {
    if (request.url === '/v2/') {
      response.writeHead(200).end('{}');
      return;
    }
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.on('connection', (socket) => t.after(() => socket.destroy()));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function blobs(store: RunningService): string[] {
  return readdirSync(join(store.stateDir, 'content', 'blobs', 'sha256'));
}

async function assertFails(store: RunningService, args: string[], code: number, message: RegExp): Promise<void> {
  const result = await berth(args, store.env, 60_000);
  assert.equal(result.code, code, `${result.stdout}${result.stderr}`);
  assert.match(result.stderr.trim(), message);
  assert.equal(result.stderr.trim().split('\n').length, 1, `one line, not:\n${result.stderr}`);
}

test('pull: bad references, unknown images and failing registries give clear errors and store nothing', { timeout: 120_000 }, async (t) => {
  const image = await buildImage({ os: 'linux', architecture: 'amd64' });
  const forged = Buffer.from(image.config.toString().replace('2026-01-02', '2026-01-03'));

  const registry = await fakeRegistry(t, (request, response) => {
    const url = request.url ?? '';
    if (url.startsWith('/v2/fails/')) return void response.writeHead(500).end();
    if (url.startsWith('/v2/stalls/')) return; // never answers
    if (url.startsWith('/v2/locked/')) {
      return void response.writeHead(401, { 'www-authenticate': 'Basic realm="test"', 'content-type': 'application/json' })
        .end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    }
    if (url === '/v2/forged/app/manifests/1' || url === `/v2/forged/app/manifests/${image.manifestDigest}`) {
      return void response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(image.manifest);
    }
    if (url === `/v2/forged/app/blobs/${image.configDigest}`) return void response.writeHead(200).end(forged);
    if (url === `/v2/wrongdigest/app/manifests/${sha256(Buffer.from('other'))}`) {
      return void response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(image.manifest);
    }
    if (url === '/v2/badlayer/app/manifests/1') {
      return void response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(image.manifest);
    }
    if (url === `/v2/badlayer/app/blobs/${image.configDigest}`) return void response.writeHead(200).end(image.config);
    if (url.startsWith('/v2/badlayer/app/blobs/')) {
      // The right length, the wrong bytes.
      const wanted = image.layers.find((l) => url.endsWith(l.digest))!;
      return void response.writeHead(200).end(Buffer.alloc(wanted.blob.length, 7));
    }
    response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
  });
  const store = await startService(t, 'image-store', { BERTH_REGISTRIES_TIMEOUT_SECONDS: '1' });

  await assertFails(store, ['pull', 'Bad//Reference'], 2, /^berth: invalid reference format: "Bad\/\/Reference"$/);
  await assertFails(store, ['pull', 'someone/UpperCase'], 2, /repository name must be lowercase/);
  await assertFails(store, ['pull', `${registry}/nothing/here:1`], 1, /not found \(404\) \(MANIFEST_UNKNOWN: manifest unknown\)/);
  await assertFails(store, ['pull', `${registry}/fails/app:1`], 1, /the registry failed \(500\)/);
  await assertFails(store, ['pull', `${registry}/stalls/app:1`], 1, /cannot reach registry .*timed out/);
  await assertFails(store, ['pull', `${registry}/locked/app:1`], 1, /authentication required \(401\)/);
  await assertFails(store, ['pull', `${registry}/wrongdigest/app@${sha256(Buffer.from('other'))}`], 1, /does not match its digest/);
  await assertFails(store, ['pull', `${registry}/forged/app:1`], 1, new RegExp(`blob content does not match its digest: expected ${image.configDigest}`));
  await assertFails(store, ['pull', `${registry}/badlayer/app:1`], 1, /blob content does not match its digest/);

  const listed = await berth(['images', '-q'], store.env);
  assert.equal(listed.stdout.trim(), '', 'no image was recorded');
  for (const wrong of [forged, ...image.layers.map((l) => Buffer.alloc(l.blob.length, 7))]) {
    assert.ok(!blobs(store).includes(sha256(wrong).slice(7)), 'no blob with the wrong content is stored');
  }
  for (const layer of image.layers) assert.ok(!blobs(store).includes(layer.digest.slice(7)), 'no layer that failed verification is stored');
  assert.deepEqual(readdirSync(join(store.stateDir, 'content', 'ingest')), [], 'no partial write is left');

  await assertFails(store, ['image', 'inspect', 'never/pulled'], 1, /no such image: never\/pulled/);
  await assertFails(store, ['rmi', 'never/pulled'], 1, /no such image: never\/pulled/);
  await assertFails(store, ['tag', 'never/pulled', 'x:1'], 1, /no such image/);
  await assertFails(store, ['history', 'never/pulled'], 1, /no such image/);
  await assertFails(store, ['push', `${registry}/never/pulled:1`], 1, /no such image/);
});
