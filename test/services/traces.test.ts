import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { berthOk, eventually, requirePrerequisites, startRuntime } from '../support';

/** The part of OTLP's ExportTraceServiceRequest that names spans, their trace and their service. */
const OTLP = protobuf.Root.fromJSON({
  nested: {
    ExportTraceServiceRequest: { fields: { resourceSpans: { rule: 'repeated', type: 'ResourceSpans', id: 1 } } },
    ResourceSpans: { fields: { resource: { type: 'Resource', id: 1 }, scopeSpans: { rule: 'repeated', type: 'ScopeSpans', id: 2 } } },
    Resource: { fields: { attributes: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
    ScopeSpans: { fields: { spans: { rule: 'repeated', type: 'Span', id: 2 } } },
    Span: { fields: { traceId: { type: 'bytes', id: 1 }, name: { type: 'string', id: 5 }, kind: { type: 'int32', id: 6 }, attributes: { rule: 'repeated', type: 'KeyValue', id: 9 } } },
    KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
    AnyValue: { fields: { stringValue: { type: 'string', id: 1 } } },
  },
}).lookupType('ExportTraceServiceRequest');

interface ReceivedSpan {
  service: string;
  traceId: string;
  name: string;
  attributes: Record<string, string>;
}

type Decoded = { resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: { traceId: Uint8Array; name: string; attributes?: KeyValue[] }[] }[] }[] };
type KeyValue = { key: string; value?: { stringValue?: string } };
const attributesOf = (pairs: KeyValue[] | undefined) => Object.fromEntries((pairs ?? []).map((pair) => [pair.key, pair.value?.stringValue ?? '']));

test('one trace runs from the command line through the runtime-agent and the image-store to Postgres and the NATS publish', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon'] })) return;
  // An OTLP/HTTP receiver, as a collector would be: it keeps every span the services export.
  const spans: ReceivedSpan[] = [];
  const collector = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const decoded = OTLP.toObject(OTLP.decode(Buffer.concat(chunks))) as Decoded;
        for (const resource of decoded.resourceSpans ?? []) {
          const service = attributesOf(resource.resource?.attributes)['service.name'] ?? '';
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) spans.push({ service, traceId: Buffer.from(span.traceId).toString('hex'), name: span.name, attributes: attributesOf(span.attributes) });
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  t.after(() => collector.close());
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;

  const { env } = await startRuntime(t, 'busybox:test', { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '200' });
  const traceId = randomBytes(16).toString('hex');
  // create asks the image-store to resolve the image: CLI → runtime-agent → image-store → Postgres.
  await berthOk({ ...env, TRACEPARENT: `00-${traceId}-${randomBytes(8).toString('hex')}-01` }, ['create', '--name', 'traced', 'busybox:test', 'true']);

  const trace = await eventually(() => {
    const ours = spans.filter((span) => span.traceId === traceId);
    const has = (service: string, test: (span: ReceivedSpan) => boolean) => ours.some((span) => span.service === service && test(span));
    const complete =
      has('runtime-agent', (span) => span.name === 'grpc.berth.runtime.v1.RuntimeService/Create') &&
      has('runtime-agent', (span) => span.name === 'publish' || span.name.startsWith('publish ')) &&
      has('image-store', (span) => span.name === 'grpc.berth.imagestore.v1.ImageStoreService/Resolve') &&
      has('image-store', (span) => span.name.startsWith('pg.query')) &&
      has('runtime-agent', (span) => span.name.startsWith('pg.query'));
    return complete ? ours : undefined;
  }, 30_000, `the trace's spans from both services and Postgres (have: ${[...new Set(spans.map((span) => `${span.service}:${span.name}`))].slice(0, 40).join(', ')})`);
  assert.ok(trace.length >= 4);
  // The call's span names what it touched.
  await berthOk({ ...env, TRACEPARENT: `00-${traceId}-${randomBytes(8).toString('hex')}-01` }, ['start', 'traced']);
  await eventually(
    () => (spans.some((span) => span.traceId === traceId && span.name === 'grpc.berth.runtime.v1.RuntimeService/Start' && span.attributes['berth.container'] === 'traced') ? true : undefined),
    30_000,
    'the Start span with its berth.container attribute',
  );
});
