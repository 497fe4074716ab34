import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { before, test } from 'node:test';
import { trace, type Span } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createLogger } from '../../../libs/logging';

type Line = Record<string, unknown>;

// A real tracer provider, as startTelemetry registers in a service: without one every span is a no-op.
before(() => {
  new NodeTracerProvider().register();
});

/** A stream to log to, and what was written to it. */
function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return {
    stream,
    text: () => text,
    lines: (): Line[] => text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Line),
  };
}

/** Runs fn inside a new active span, which ends with it. */
function inSpan<T>(name: string, fn: (span: Span) => T): T {
  return trace.getTracer('test').startActiveSpan(name, (span) => {
    try {
      return fn(span);
    } finally {
      span.end();
    }
  });
}

test('one JSON object a line, with level, time, service and msg', () => {
  const out = capture();
  // No format: JSON, since the destination is not a terminal.
  const logger = createLogger({ name: 'volume', destination: out.stream, base: { node: 'n1' } });
  logger.info('first');
  logger.warn({ volume: 'data' }, 'second\nwith a line break');
  logger.debug('below the level: not written');

  assert.equal(out.text().split('\n').length, 3, 'two lines, each ending in a newline');
  const [first, second] = out.lines();
  assert.deepEqual(Object.keys(first!).sort(), ['level', 'msg', 'node', 'service', 'time']);
  assert.equal(first!.level, 'info');
  assert.equal(first!.service, 'volume');
  assert.equal(first!.node, 'n1');
  assert.equal(first!.msg, 'first');
  assert.ok(Math.abs(Date.parse(String(first!.time)) - Date.now()) < 60_000, `an ISO time of now: ${String(first!.time)}`);
  assert.equal(second!.level, 'warn');
  assert.equal(second!.volume, 'data');
  assert.equal(second!.msg, 'second\nwith a line break');
});

test('inside an active span every line carries its trace_id and span_id', () => {
  const out = capture();
  const logger = createLogger({ name: 'volume', destination: out.stream, format: 'json' });
  const [outer, inner] = inSpan('outer', (outerSpan) => {
    logger.info('in outer');
    const innerIds = inSpan('inner', (innerSpan) => {
      logger.info('in inner');
      return innerSpan.spanContext();
    });
    return [outerSpan.spanContext(), innerIds];
  });

  const [inOuter, inInner] = out.lines();
  assert.match(outer!.traceId, /^[0-9a-f]{32}$/);
  assert.equal(inOuter!.trace_id, outer!.traceId);
  assert.equal(inOuter!.span_id, outer!.spanId);
  assert.equal(inInner!.trace_id, outer!.traceId, 'a child span is in the same trace');
  assert.equal(inInner!.span_id, inner!.spanId);
});

test('outside a span a line carries no trace or span id', () => {
  const out = capture();
  const logger = createLogger({ name: 'volume', destination: out.stream, format: 'json' });
  inSpan('before', () => undefined);
  logger.info('after the span ended');
  const [line] = out.lines();
  assert.equal('trace_id' in line!, false);
  assert.equal('span_id' in line!, false);
});

test('the pretty format writes a line for people, not JSON', () => {
  const out = capture();
  createLogger({ name: 'volume', destination: out.stream, format: 'pretty' }).info({ volume: 'data' }, 'hello there');
  // Colours depend on the terminal running the tests: compare the text without them.
  const text = out.text().replace(/\x1b\[[0-9;]*m/g, '');
  const [line] = text.split('\n');
  assert.match(line!, /\d\d:\d\d:\d\d\.\d{3}.*INFO.*hello there/);
  assert.throws(() => JSON.parse(line!), SyntaxError);
  assert.match(text, /volume: "data"/, 'fields follow on lines of their own');
});
