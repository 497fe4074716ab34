import assert from 'node:assert/strict';
import { before, beforeEach, test } from 'node:test';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { activeTraceIds, contextFromCarrier, traceCarrier, withSpan } from '../../../libs/tracing';

// A provider that keeps finished spans in memory, registered as startTelemetry registers its own
// (with W3C trace-context propagation), so that the tests can read what libs/tracing recorded.
const exporter = new InMemorySpanExporter();
before(() => {
  new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
});
beforeEach(() => exporter.reset());

function finished(name: string): ReadableSpan {
  const span = exporter.getFinishedSpans().find((s) => s.name === name);
  assert.ok(span, `a finished span "${name}"`);
  return span;
}

test('traceCarrier and contextFromCarrier carry a span context across a carrier', () => {
  assert.deepEqual(traceCarrier(), {}, 'nothing to carry outside a trace');

  const { carrier, sent } = trace.getTracer('test').startActiveSpan('publish', (span) => {
    const result = { carrier: traceCarrier(), sent: span.spanContext() };
    span.end();
    return result;
  });
  assert.equal(carrier.traceparent, `00-${sent.traceId}-${sent.spanId}-01`);

  // As a consumer would, outside the publisher's context: from the carrier (a NATS header, a row) alone.
  const received = context.with(ROOT_CONTEXT, () => trace.getSpanContext(contextFromCarrier({ ...carrier })));
  assert.equal(received?.traceId, sent.traceId);
  assert.equal(received?.spanId, sent.spanId);
  assert.equal(received?.isRemote, true);

  assert.equal(trace.getSpanContext(contextFromCarrier({ traceparent: 'garbage' })), undefined, 'a bad header is ignored');
});

test('withSpan runs fn inside a child span that ends with it', async () => {
  const carrier = { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` };
  const inside = await withSpan('consume', { parent: contextFromCarrier(carrier), kind: 'consumer', attributes: { 'berth.volume': 'data' } }, async () =>
    activeTraceIds(),
  );

  const span = finished('consume');
  assert.equal(span.spanContext().traceId, 'a'.repeat(32), 'the span joins the trace of its parent');
  assert.equal(span.parentSpanContext?.spanId, 'b'.repeat(16));
  assert.equal(span.kind, SpanKind.CONSUMER);
  assert.equal(span.attributes['berth.volume'], 'data');
  assert.equal(span.status.code, SpanStatusCode.UNSET);
  assert.deepEqual(inside, { trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId }, 'fn ran with the span active');
  assert.equal(activeTraceIds(), undefined, 'and it is not active afterwards');
});

test('withSpan records an error on its span and rethrows it', async () => {
  const failure = new Error('disk full');
  await assert.rejects(withSpan('write', {}, async () => Promise.reject(failure)), (err: unknown) => err === failure);

  const span = finished('write');
  assert.deepEqual(span.status, { code: SpanStatusCode.ERROR, message: 'disk full' });
  const exception = span.events.find((event) => event.name === 'exception');
  assert.equal(exception?.attributes?.['exception.message'], 'disk full');
  assert.equal(exception?.attributes?.['exception.type'], 'Error');
  assert.ok(span.ended);
});

test('withSpan records a rejection that is not an Error by what it says', async () => {
  await assert.rejects(withSpan('odd', {}, () => Promise.reject('no space left')), (err: unknown) => err === 'no space left');
  const span = finished('odd');
  assert.deepEqual(span.status, { code: SpanStatusCode.ERROR, message: 'no space left' });
  assert.equal(span.events.find((event) => event.name === 'exception')?.attributes?.['exception.message'], 'no space left');
});
