import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { ChannelCredentials, credentials, type Client } from '@grpc/grpc-js';
import { isBerthError } from '../../../libs/errors';
import { checkHealth, createClient, unaryCall } from '../../../libs/grpc';
import { volume } from '../../../libs/proto';
import { requirePrerequisites } from '../../support';
import { makeTestPki, type TestPki } from '../../support/certs';
import { SERVICE_INFO, answerAtOnce, callInfo, startVolumeServer } from './fixture';

/** An Info call with a hand-made client, for clients that createClient would never make. */
async function infoWith(t: TestContext, address: string, channel: ChannelCredentials): Promise<volume.InfoResponse> {
  const client: Client & volume.VolumeServiceClient = new volume.VolumeServiceClient(address, channel);
  t.after(() => client.close());
  return unaryCall<volume.InfoResponse>(address, (m, o, cb) => client.info({}, m, o, cb), { deadlineMs: 2_000 });
}

/** A refusal during the handshake or right after it: the call never reaches a handler. */
function refused(err: unknown): boolean {
  assert.ok(isBerthError(err) && (err.kind === 'unavailable' || err.kind === 'deadline_exceeded'), String(err));
  return true;
}

/** The test's PKI: a CA, a server certificate for IP:127.0.0.1 and DNS:localhost, clients; made with openssl. */
function pki(t: TestContext): TestPki {
  const made = makeTestPki();
  t.after(() => rmSync(made.dir, { recursive: true, force: true }));
  return made;
}

test('TCP without TLS is refused by serve() and by createClient()', async (t) => {
  await assert.rejects(startVolumeServer(t, answerAtOnce, { addresses: ['127.0.0.1:0'] }), (err: unknown) => {
    assert.ok(isBerthError(err, 'invalid_argument'), String(err));
    assert.match(err.message, /^refusing to listen on 127\.0\.0\.1:0 without TLS/);
    return true;
  });
  assert.throws(
    () => createClient(volume.VolumeServiceClient, '127.0.0.1:1', { deadlineMs: 1_000 }),
    (err: unknown) => isBerthError(err, 'invalid_argument'),
  );
});

test('TCP is served with mutual TLS: only a client with a certificate from the CA gets in', async (t) => {
  if (!requirePrerequisites(t, { programs: ['openssl'] })) return;
  const certs = pki(t);
  const { server } = await startVolumeServer(t, answerAtOnce, { addresses: ['127.0.0.1:0'], tls: { ca: certs.ca, ...certs.server } });
  const [address] = server.addresses;
  assert.match(address!, /^127\.0\.0\.1:\d+$/);
  assert.notEqual(address, '127.0.0.1:0', 'the port chosen is reported');

  const client = { ca: certs.ca, ...certs.client };
  assert.deepEqual(await callInfo(address!, { tls: client }), SERVICE_INFO);
  assert.equal(await checkHealth(address!, { deadlineMs: 2_000, tls: client }), 'SERVING');

  const ca = readFileSync(certs.ca);
  await assert.rejects(callInfo(address!, { deadlineMs: 2_000, tls: { ca: certs.ca, ...certs.stranger } }), refused);
  await assert.rejects(infoWith(t, address!, ChannelCredentials.createSsl(ca)), refused, 'a client without a certificate');
  await assert.rejects(infoWith(t, address!, credentials.createInsecure()), refused, 'a client without TLS');
});

test('a TCP address and a unix socket are served together, each reported as bound', async (t) => {
  if (!requirePrerequisites(t, { programs: ['openssl'] })) return;
  const certs = pki(t);
  const socket = `unix://${certs.dir}/volume.sock`;
  const { server } = await startVolumeServer(t, answerAtOnce, { addresses: ['localhost:0', socket], tls: { ca: certs.ca, ...certs.server } });
  assert.equal(server.addresses.length, 2);
  assert.match(server.addresses[0]!, /^localhost:[1-9]\d*$/);
  assert.equal(server.addresses[1], socket);
  assert.deepEqual(await callInfo(server.addresses[0]!, { tls: { ca: certs.ca, ...certs.client } }), SERVICE_INFO);
  assert.deepEqual(await callInfo(socket), SERVICE_INFO);
});
