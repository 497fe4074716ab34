import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { credentials, loadPackageDefinition, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { BerthError, isBerthError, type ErrorKind } from '../../../libs/errors';
import { checkHealth, createClient, handlers, serve, unaryCall } from '../../../libs/grpc';
import { createLogger } from '../../../libs/logging';
import { descriptorSetPath, health, volume } from '../../../libs/proto';
import { repoRoot } from '../../support';

type InfoImplementation = (request: volume.InfoRequest, context: { signal: AbortSignal }) => Promise<volume.InfoResponse>;

/** A VolumeService whose Info does what the test says, on a unix socket in a temporary directory. */
async function startServer(t: TestContext, info: InfoImplementation, options: { addresses?: (dir: string) => string[]; tls?: { ca: string; cert: string; key: string } } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-grpc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = new PassThrough();
  let lines = '';
  log.on('data', (chunk: Buffer) => (lines += chunk.toString()));
  const logger = createLogger({ name: 'test', destination: log, format: 'json' });
  const socket = join(dir, 'sockets', 'volume.sock');
  const server = await serve({
    service: 'volume',
    addresses: options.addresses?.(dir) ?? [`unix://${socket}`],
    tls: options.tls,
    services: [{ name: 'berth.volume.v1.VolumeService', definition: volume.VolumeServiceService, implementation: { info: handlers(logger).unary(info) } }],
    descriptorSetPath: descriptorSetPath(),
    logger,
  });
  t.after(() => server.shutdown(100));
  return { server, socket, target: `unix://${socket}`, dir, log: () => lines };
}

function infoCall(target: string, options: { deadlineMs?: number; tls?: { ca: string; cert: string; key: string } } = {}) {
  const client = createClient(volume.VolumeServiceClient, target, { deadlineMs: options.deadlineMs ?? 5_000, tls: options.tls });
  return unaryCall<volume.InfoResponse>(target, (m, o, cb) => client.info({}, m, o, cb)).finally(() => client.close());
}

const answer: InfoImplementation = async () => ({ info: undefined });

test('a unix socket: root-only directory and socket; a stale socket is replaced; a live one is refused', async (t) => {
  const { socket, target, dir } = await startServer(t, answer);
  assert.equal(statSync(join(dir, 'sockets')).mode & 0o777, 0o700);
  assert.equal(statSync(socket).mode & 0o777, 0o600);
  assert.deepEqual(await infoCall(target), { info: undefined });

  await assert.rejects(startServer(t, answer, { addresses: () => [target] }), (err: unknown) => {
    assert.ok(isBerthError(err, 'failed_precondition'));
    assert.match(err.message, /volume is already running: something answers on/);
    return true;
  });

  const staleDir = mkdtempSync(join(tmpdir(), 'berth-grpc-stale-'));
  t.after(() => rmSync(staleDir, { recursive: true, force: true }));
  writeFileSync(join(staleDir, 'volume.sock'), 'left by a process that died');
  const stale = await startServer(t, answer, { addresses: () => [`unix://${join(staleDir, 'volume.sock')}`] });
  assert.deepEqual(await infoCall(stale.server.addresses[0]!), { info: undefined });
});

test('health says SERVING while up and NOT_SERVING while draining; reflection lists the service', async (t) => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const { server, target, socket } = await startServer(t, async () => {
    await held;
    return { info: undefined };
  });
  assert.equal(await checkHealth(target, { deadlineMs: 2_000 }), 'SERVING');
  assert.equal(await checkHealth(target, { deadlineMs: 2_000, service: 'berth.volume.v1.VolumeService' }), 'SERVING');

  const reflection = loadPackageDefinition(
    loadSync(join(repoRoot(), 'node_modules', '@grpc', 'reflection', 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto'), { keepCase: true }),
  ) as unknown as { grpc: { reflection: { v1: { ServerReflection: new (target: string, creds: ReturnType<typeof credentials.createInsecure>) => { serverReflectionInfo(): NodeJS.ReadWriteStream & { end(): void; write(m: unknown): boolean }; close(): void } } } } };
  const reflector = new reflection.grpc.reflection.v1.ServerReflection(target, credentials.createInsecure());
  const stream = reflector.serverReflectionInfo();
  const responses: Array<Record<string, unknown>> = [];
  stream.on('data', (response: Record<string, unknown>) => responses.push(response));
  const ended = new Promise((resolve) => stream.on('end', resolve));
  stream.write({ list_services: '' });
  stream.write({ file_containing_symbol: 'berth.volume.v1.VolumeService' });
  stream.end();
  await ended;
  reflector.close();
  const listed = (responses[0]!.list_services_response as { service: Array<{ name: string }> }).service.map((s) => s.name);
  assert.deepEqual(listed, ['berth.volume.v1.VolumeService']);
  assert.ok((responses[1]!.file_descriptor_response as { file_descriptor_proto: Buffer[] }).file_descriptor_proto.length > 0);

  // A health watcher (a load balancer) sees NOT_SERVING as soon as the drain begins.
  const healthClient = createClient(health.HealthClient, target, { deadlineMs: 10_000 });
  const watch = healthClient.watch({ service: '' });
  const seen: string[] = [];
  const notServing = new Promise<void>((resolve) => {
    watch.on('data', (response: health.HealthCheckResponse) => {
      seen.push(health.healthCheckResponse_ServingStatusToJSON(response.status));
      if (seen.at(-1) === 'NOT_SERVING') resolve();
    });
  });
  watch.on('error', () => undefined);
  await new Promise((resolve) => setTimeout(resolve, 100));

  const inFlight = infoCall(target);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const stopping = server.shutdown(5_000);
  await notServing;
  assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
  watch.cancel();
  healthClient.close();
  release();
  assert.deepEqual(await inFlight, { info: undefined }, 'a call in flight when shutdown began completes');
  await stopping;
  await assert.rejects(infoCall(target, { deadlineMs: 1_000 }), (err: unknown) => isBerthError(err, 'unavailable'));
  assert.throws(() => statSync(socket), /ENOENT/, 'the socket is removed');
});

test('a short grace cancels calls that never end', async (t) => {
  let aborted = false;
  const { server, target } = await startServer(t, (_, context) => new Promise((_, reject) => context.signal.addEventListener('abort', () => {
    aborted = true;
    reject(new BerthError('cancelled', 'cancelled'));
  })));
  const call = infoCall(target).catch((err: unknown) => err);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = Date.now();
  await server.shutdown(200);
  assert.ok(Date.now() - started < 2_000);
  assert.ok(isBerthError(await call));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(aborted, 'the handler was told to stop');
});

test('every error kind crosses the wire as its status and back; a bug is INTERNAL and logged, not leaked', async (t) => {
  const kinds: Array<[ErrorKind, status]> = [
    ['not_found', status.NOT_FOUND],
    ['already_exists', status.ALREADY_EXISTS],
    ['invalid_argument', status.INVALID_ARGUMENT],
    ['failed_precondition', status.FAILED_PRECONDITION],
    ['resource_exhausted', status.RESOURCE_EXHAUSTED],
    ['unavailable', status.UNAVAILABLE],
    ['permission_denied', status.PERMISSION_DENIED],
    ['unauthenticated', status.UNAUTHENTICATED],
  ];
  let next: Error = new Error('unset');
  const { target, log } = await startServer(t, async () => {
    throw next;
  });
  for (const [kind, code] of kinds) {
    next = new BerthError(kind, `a sentence about ${kind}`);
    const client = createClient(volume.VolumeServiceClient, target, { deadlineMs: 5_000 });
    const raw = await new Promise<ServiceError>((resolve) => client.info({}, new Metadata(), (err) => resolve(err as ServiceError)));
    client.close();
    assert.equal(raw.code, code, kind);
    assert.equal(raw.details, `a sentence about ${kind}`);
    await assert.rejects(infoCall(target), (err: unknown) => isBerthError(err, kind) && err.message === `a sentence about ${kind}` && err.remote);
  }
  next = new TypeError("Cannot read properties of undefined (reading 'secret')");
  await assert.rejects(infoCall(target), (err: unknown) => {
    assert.ok(isBerthError(err, 'internal'));
    assert.match(err.message, /^internal error: see the service log \(trace [0-9a-f]{32}\)$|^internal error: see the service log$/);
    assert.doesNotMatch(err.message, /secret/);
    return true;
  });
  assert.match(log(), /"level":"error".*Cannot read properties of undefined.*"stack"/);
});

test('deadlines: a client call ends at its deadline, and the handler is told', async (t) => {
  let signalled: (reason: string) => void;
  const told = new Promise<string>((resolve) => (signalled = resolve));
  const { target } = await startServer(t, (_, context) => new Promise(() => {
    context.signal.addEventListener('abort', () => signalled(String(context.signal.reason)));
  }));
  const started = Date.now();
  await assert.rejects(infoCall(target, { deadlineMs: 200 }), (err: unknown) => isBerthError(err, 'deadline_exceeded'));
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 180 && elapsed < 2_000, `ended after ${elapsed} ms`);
  assert.match(await told, /deadline|cancelled/);
});
