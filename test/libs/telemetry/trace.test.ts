import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as http2Connect, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test, type TestContext } from 'node:test';
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { startTelemetry } from '../../../libs/telemetry';

// The instrumentations patch grpc-js as it loads, so telemetry starts before anything requires it:
// the modules below are loaded inside the tests, and only their types are imported here.
const telemetry = startTelemetry('test', '0');
after(() => telemetry.shutdown());

type Grpc = typeof import('../../../libs/grpc');
type Proto = typeof import('../../../libs/proto');
type Logging = typeof import('../../../libs/logging');
const load = <T>(path: string): T => require(path) as T;

const INFO = '/berth.volume.v1.VolumeService/Info';

interface LogLine {
  msg: string;
  rpc?: string;
  trace_id?: string;
  span_id?: string;
}

interface VolumeServer {
  socket: string;
  /** The server's log lines of finished calls. */
  rpcLines(): LogLine[];
}

/** The volume API's Info on a unix socket, answered by a handler from libs/grpc that logs to a stream. */
async function serveVolume(t: TestContext): Promise<VolumeServer> {
  const { serve, handlers } = load<Grpc>('../../../libs/grpc');
  const { descriptorSetPath, volume } = load<Proto>('../../../libs/proto');
  const { createLogger } = load<Logging>('../../../libs/logging');

  const dir = mkdtempSync(join(tmpdir(), 'berth-trace-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const logger = createLogger({ name: 'volume', destination: out, format: 'json' });
  const socket = join(dir, 'volume.sock');
  const server = await serve({
    service: 'volume',
    addresses: [`unix://${socket}`],
    services: [
      {
        name: 'berth.volume.v1.VolumeService',
        definition: volume.VolumeServiceService,
        implementation: { info: handlers(logger).unary(async () => ({ info: undefined })) },
      },
    ],
    descriptorSetPath: descriptorSetPath(),
    logger,
  });
  t.after(() => server.shutdown(100));
  return {
    socket,
    rpcLines: () =>
      text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as LogLine)
        .filter((line) => line.rpc !== undefined),
  };
}

/**
 * One unary call in bare HTTP/2, as a client without OpenTelemetry makes it (grpcurl, a script in
 * another language). A grpc-js client in this process cannot stand in for one: it is instrumented,
 * and replaces any traceparent it is given with its own span's. Resolves with the grpc-status.
 */
function uninstrumentedCall(socket: string, path: string, metadata: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = http2Connect('http://localhost', { createConnection: () => netConnect(socket) });
    session.once('error', reject);
    const finish = (headers: IncomingHttpHeaders) => {
      session.close();
      resolve(String(headers['grpc-status']));
    };
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...metadata });
    // A failure before any response comes as headers only; an answer ends with trailers.
    stream.once('response', (headers) => void (headers['grpc-status'] !== undefined && finish(headers)));
    stream.once('trailers', finish);
    stream.once('error', reject);
    stream.resume();
    // One empty message (InfoRequest has no fields): a byte saying "not compressed", a length of 0.
    stream.end(Buffer.alloc(5));
  });
}

const randomTraceId = () => randomBytes(16).toString('hex');
const randomSpanId = () => randomBytes(8).toString('hex');

test('a traceparent in a call\'s metadata reaches the server\'s "rpc ... ok" log line', async (t) => {
  const server = await serveVolume(t);
  const traceId = randomTraceId();
  const parentSpanId = randomSpanId();

  assert.equal(await uninstrumentedCall(server.socket, INFO, { traceparent: `00-${traceId}-${parentSpanId}-01` }), '0');

  const [line] = server.rpcLines();
  assert.equal(line?.msg, `rpc ${INFO} ok`);
  assert.equal(line?.trace_id, traceId, 'the server joined the caller\'s trace');
  assert.match(line?.span_id ?? '', /^[0-9a-f]{16}$/);
  assert.notEqual(line?.span_id, parentSpanId, 'the call has a span of its own in that trace');
});

test('a libs/grpc client called inside a trace carries it to the server', async (t) => {
  const { createClient, unaryCall } = load<Grpc>('../../../libs/grpc');
  const { volume } = load<Proto>('../../../libs/proto');
  const server = await serveVolume(t);
  const target = `unix://${server.socket}`;
  const traceId = randomTraceId();
  // The trace of a caller, as an outbox row or a NATS message hands it on.
  const caller = propagation.extract(ROOT_CONTEXT, { traceparent: `00-${traceId}-${randomSpanId()}-01` });

  const client = createClient(volume.VolumeServiceClient, target, { deadlineMs: 5_000 });
  t.after(() => client.close());
  await context.with(caller, () => unaryCall(target, (metadata, options, callback) => client.info({}, metadata, options, callback)));

  const [line] = server.rpcLines();
  assert.equal(line?.msg, `rpc ${INFO} ok`);
  assert.equal(line?.trace_id, traceId);
});

test('a call that brings no trace still logs a trace id of its own', async (t) => {
  const server = await serveVolume(t);
  assert.equal(await uninstrumentedCall(server.socket, INFO, {}), '0');
  assert.equal(await uninstrumentedCall(server.socket, INFO, {}), '0');
  const [first, second] = server.rpcLines();
  assert.match(first?.trace_id ?? '', /^[0-9a-f]{32}$/);
  assert.match(second?.trace_id ?? '', /^[0-9a-f]{32}$/);
  assert.notEqual(first?.trace_id, second?.trace_id, 'each call is a trace of its own');
});
