import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { startTelemetry } from '../../../libs/telemetry';

interface Received {
  path: string;
  contentType: string;
  body: Buffer;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test('with OTEL_EXPORTER_OTLP_ENDPOINT set, spans leave the process over OTLP, flushed by shutdown', async (t) => {
  // A collector's OTLP/HTTP receiver: it takes what it is sent and answers 200.
  const received: Received[] = [];
  const collector = createServer((request, response) => {
    void readBody(request).then((body) => {
      received.push({ path: request.url ?? '', contentType: request.headers['content-type'] ?? '', body });
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  t.after(() => collector.close());
  const { port } = collector.address() as { port: number };

  // This file's process is its own: the variable reaches no other test.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${port}`;
  const telemetry = startTelemetry('export-test', '1.2.3');
  const traceId = trace.getTracer('test').startActiveSpan('exported-span', (span) => {
    span.end();
    return span.spanContext().traceId;
  });
  await telemetry.shutdown();

  const traces = received.filter((r) => r.path === '/v1/traces');
  assert.equal(traces.length, 1, `one batch of spans: ${received.map((r) => r.path).join(', ')}`);
  assert.equal(traces[0]!.contentType, 'application/x-protobuf');
  // Protobuf keeps strings and ids as they are: the span's name, its service and its trace id are in it.
  const body = traces[0]!.body;
  assert.ok(body.includes('exported-span'));
  assert.ok(body.includes('export-test'));
  assert.ok(body.includes(Buffer.from(traceId, 'hex')));
});
