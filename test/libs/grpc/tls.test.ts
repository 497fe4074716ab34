import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { isBerthError } from '../../../libs/errors';
import { createClient, handlers, serve, unaryCall } from '../../../libs/grpc';
import { createLogger } from '../../../libs/logging';
import { descriptorSetPath, volume } from '../../../libs/proto';
import { requirePrerequisites } from '../../support';
import { makeTestPki } from '../../support/certs';

const logger = createLogger({ name: 'test', level: 'fatal', format: 'json' });

function serveOn(addresses: string[], tls?: { ca: string; cert: string; key: string }) {
  return serve({
    service: 'volume',
    addresses,
    tls,
    services: [{ name: 'berth.volume.v1.VolumeService', definition: volume.VolumeServiceService, implementation: { info: handlers(logger).unary(async () => ({ info: undefined })) } }],
    descriptorSetPath: descriptorSetPath(),
    logger,
  });
}

function info(target: string, tls?: { ca: string; cert: string; key: string }) {
  const client = createClient(volume.VolumeServiceClient, target, { deadlineMs: 3_000, tls });
  return unaryCall<volume.InfoResponse>(target, (m, o, cb) => client.info({}, m, o, cb)).finally(() => client.close());
}

test('TCP is served only with mutual TLS: a CA-signed client is let in, others are refused', { timeout: 30_000 }, async (t) => {
  if (!requirePrerequisites(t, { programs: ['openssl'] })) return;
  await assert.rejects(serveOn(['127.0.0.1:0']), (err: unknown) => {
    assert.ok(isBerthError(err, 'invalid_argument'));
    assert.match(err.message, /refusing to listen on 127\.0\.0\.1:0 without TLS/);
    return true;
  });

  const pki = makeTestPki();
  t.after(() => rmSync(pki.dir, { recursive: true, force: true }));
  const server = await serveOn(['127.0.0.1:0'], { ca: pki.ca, ...pki.server });
  t.after(() => server.shutdown(100));
  const address = server.addresses[0]!;
  assert.match(address, /^127\.0\.0\.1:[1-9]\d*$/, 'the port chosen is reported');

  assert.deepEqual(await info(address, { ca: pki.ca, ...pki.client }), { info: undefined });
  await assert.rejects(info(address, { ca: pki.ca, ...pki.stranger }), (err: unknown) => isBerthError(err, 'unavailable'));
  assert.throws(() => createClient(volume.VolumeServiceClient, address, { deadlineMs: 1_000 }), /refusing to connect to .* without TLS/);
  // A client that speaks plain gRPC anyway gets nowhere.
  const plain = new volume.VolumeServiceClient(address, credentials.createInsecure());
  t.after(() => plain.close());
  await assert.rejects(
    unaryCall(address, (m, o, cb) => plain.info({}, m, { ...o, deadline: Date.now() + 2_000 }, cb)),
    (err: unknown) => isBerthError(err) && ['unavailable', 'deadline_exceeded'].includes(err.kind),
  );
});
