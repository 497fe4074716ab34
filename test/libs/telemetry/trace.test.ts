import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { startTelemetry } from '../../../libs/telemetry';

// The instrumentations patch grpc-js and pg as they load: start first, load them afterwards.
const telemetry = startTelemetry('test', '0');
type Grpc = typeof import('../../../libs/grpc');
type Proto = typeof import('../../../libs/proto');
type Tracing = typeof import('../../../libs/tracing');
const load = <T>(path: string): T => require(path) as T;

test('a trace id sent by a client is in the server log line of the call', async (t) => {
  t.after(() => telemetry.shutdown());
  const { serve, handlers, createClient, unaryCall } = load<Grpc>('../../../libs/grpc');
  const { descriptorSetPath, volume } = load<Proto>('../../../libs/proto');
  const { createLogger } = load<typeof import('../../../libs/logging')>('../../../libs/logging');

  const dir = mkdtempSync(join(tmpdir(), 'berth-trace-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = new PassThrough();
  let lines = '';
  out.on('data', (chunk: Buffer) => (lines += chunk.toString()));
  const logger = createLogger({ name: 'volume', destination: out, format: 'json' });
  const target = `unix://${join(dir, 'volume.sock')}`;
  const server = await serve({
    service: 'volume',
    addresses: [target],
    services: [{ name: 'berth.volume.v1.VolumeService', definition: volume.VolumeServiceService, implementation: { info: handlers(logger).unary(async () => ({ info: undefined })) } }],
    descriptorSetPath: descriptorSetPath(),
    logger,
  });
  t.after(() => server.shutdown(100));

  // The caller's trace, as a script would pass it: the (instrumented) client's span joins it, and
  // the server's span joins the client's.
  const traceId = randomBytes(16).toString('hex');
  const caller = propagation.extract(ROOT_CONTEXT, { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` });
  const client = createClient(volume.VolumeServiceClient, target, { deadlineMs: 5_000 });
  await context.with(caller, () => unaryCall(target, (m, o, cb) => client.info({}, m, o, cb)));
  client.close();

  const line = lines.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { rpc?: string; trace_id?: string }).find((l) => l.rpc !== undefined);
  assert.equal(line?.rpc, '/berth.volume.v1.VolumeService/Info');
  assert.equal(line?.trace_id, traceId, 'the server span continues the client trace');
});

test('trace context survives a carrier (NATS headers, an outbox row); withSpan nests and rethrows', async () => {
  const { traceCarrier, contextFromCarrier, withSpan, activeTraceIds } = load<Tracing>('../../../libs/tracing');
  let carrier: Record<string, string> = {};
  let outer: string | undefined;
  await trace.getTracer('test').startActiveSpan('publisher', async (span) => {
    outer = span.spanContext().traceId;
    carrier = traceCarrier();
    span.end();
  });
  assert.match(carrier.traceparent ?? '', new RegExp(`^00-${outer}-[0-9a-f]{16}-01$`));
  const inner = await withSpan('consumer', { parent: contextFromCarrier(carrier), kind: 'consumer' }, async () => activeTraceIds());
  assert.equal(inner?.trace_id, outer, 'the consumer span joins the publisher trace');
  await assert.rejects(withSpan('failing', {}, async () => Promise.reject(new Error('boom'))), /boom/);
});
