import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createLogger } from '../../../libs/logging';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, lines: () => text.trim().split('\n') };
}

test('JSON lines with level, time, service and message; trace and span ids inside a span', () => {
  new NodeTracerProvider().register();
  const out = capture();
  const logger = createLogger({ name: 'volume', destination: out.stream, format: 'json', base: { node: 'n1' } });
  logger.info('outside');
  let ids: { traceId: string; spanId: string } | undefined;
  trace.getTracer('test').startActiveSpan('work', (span) => {
    ids = span.spanContext();
    logger.warn({ volume: 'data' }, 'inside');
    span.end();
  });
  const [outside, inside] = out.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(outside!.level, 'info');
  assert.equal(outside!.service, 'volume');
  assert.equal(outside!.node, 'n1');
  assert.equal(outside!.msg, 'outside');
  assert.match(String(outside!.time), /^\d{4}-\d\d-\d\dT/);
  assert.equal(outside!.trace_id, undefined);
  assert.equal(inside!.level, 'warn');
  assert.equal(inside!.volume, 'data');
  assert.equal(inside!.trace_id, ids!.traceId);
  assert.equal(inside!.span_id, ids!.spanId);
});

test('the pretty format is for people, not JSON', () => {
  const out = capture();
  createLogger({ name: 'volume', destination: out.stream, format: 'pretty' }).info('hello there');
  const [line] = out.lines();
  assert.match(line!, /INFO.*hello there/);
  assert.throws(() => JSON.parse(line!));
});
