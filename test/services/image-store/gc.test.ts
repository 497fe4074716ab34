import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  berth,
  buildImage,
  eventually,
  requirePrerequisites,
  seedRegistry,
  startRegistry,
  startImageStoreWithRuntime,
  type RunningService,
  type TestImage,
} from '../../support';

const PLATFORM = { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' };

/**
 * A proxy in front of a registry that sends one blob slowly, so a test can act while a pull of it
 * runs. `slowStarted` resolves when that blob begins to flow; `release()` lets the rest go at once.
 */
async function throttlingProxy(t: TestContext, upstream: string, slowDigest: string) {
  let started!: () => void;
  const slowStarted = new Promise<void>((resolve) => (started = resolve));
  let released = false;
  const server = createServer(async (request, response) => {
    const upstreamResponse = await fetch(`http://${upstream}${request.url}`, {
      method: request.method,
      headers: { accept: request.headers.accept ?? '*/*' },
    });
    const headers: Record<string, string> = {};
    upstreamResponse.headers.forEach((value, key) => (headers[key] = value));
    response.writeHead(upstreamResponse.status, headers);
    const body = Buffer.from(await upstreamResponse.arrayBuffer());
    if (request.method !== 'GET' || !request.url?.endsWith(slowDigest)) return void response.end(body);
    started();
    for (let offset = 0; offset < body.length; offset += 16 * 1024) {
      response.write(body.subarray(offset, offset + 16 * 1024));
      if (!released) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { host: `127.0.0.1:${(server.address() as { port: number }).port}`, slowStarted, release: () => (released = true) };
}

function storedBlobs(store: RunningService): Set<string> {
  return new Set(readdirSync(join(store.stateDir, 'content', 'blobs', 'sha256')).map((hex) => `sha256:${hex}`));
}

function blobsOf(image: TestImage): string[] {
  return [image.manifestDigest, image.configDigest, ...image.layers.map((l) => l.digest)];
}

test('garbage collection removes exactly the unreachable blobs, and none of a pull still running', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['docker-registry', 'skopeo'] })) return;
  const registry = await startRegistry();
  t.after(() => registry.stop());
  const big = randomBytes(600 * 1024);
  const [a, b, c] = await Promise.all([
    buildImage(PLATFORM),
    buildImage(PLATFORM),
    buildImage(PLATFORM, { extraLayers: [[{ path: 'data.bin', type: 'file', content: big }]] }),
  ]);
  for (const [name, image] of [['a', a], ['b', b], ['c', c]] as const) seedRegistry(t, registry.host, `test/${name}:1`, [image]);
  const slowLayer = c.layers[2]!.digest;
  const proxy = await throttlingProxy(t, registry.host, slowLayer);
  const store = await startImageStoreWithRuntime(t);
  for (const name of ['a', 'b']) assert.equal((await berth(['pull', '-q', `${registry.host}/test/${name}:1`], store.env)).code, 0);

  const pulling = berth(['pull', '-q', `${proxy.host}/test/c:1`], store.env, 90_000);
  await proxy.slowStarted;
  // C's other blobs are stored, but no image refers to them yet: only the pull's lease keeps them.
  await eventually(() => ([c.configDigest, c.layers[1]!.digest].every((d) => storedBlobs(store).has(d)) ? true : undefined), 20_000, "C's first blobs");

  const removed = await berth(['rmi', `${registry.host}/test/b:1`], store.env);
  assert.equal(removed.code, 0, removed.stderr);
  const expected = new Set([...blobsOf(a), c.manifestDigest, c.configDigest, c.layers[0]!.digest, c.layers[1]!.digest]);
  assert.deepEqual([...storedBlobs(store)].sort(), [...expected].sort(), "B's own blobs went; A's and the running pull's stayed");

  proxy.release();
  const pulled = await pulling;
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.deepEqual([...storedBlobs(store)].sort(), [...new Set([...blobsOf(a), ...blobsOf(c)])].sort());
  const inspected = await berth(['image', 'inspect', `${proxy.host}/test/c:1`], store.env);
  assert.equal(inspected.code, 0, inspected.stderr);

  // With every image gone, nothing is left.
  const all = await berth(['rmi', `${registry.host}/test/a:1`, `${proxy.host}/test/c:1`], store.env);
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual([...storedBlobs(store)], []);
});
