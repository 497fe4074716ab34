import {
  context,
  isSpanContextValid,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
} from '@opentelemetry/api';

const tracer = () => trace.getTracer('berth');

/** The W3C trace-context headers of the active context, to carry it over NATS or into a row. */
export function traceCarrier(active: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(active, carrier);
  return carrier;
}

/** A context whose parent is the one a carrier (NATS headers, a stored row) holds. */
export function contextFromCarrier(carrier: Record<string, string>): Context {
  return propagation.extract(context.active(), carrier);
}

/** The active trace and span ids, for logs; undefined outside a trace. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const span = trace.getSpan(context.active());
  if (span === undefined) return undefined;
  const ids = span.spanContext();
  return isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : undefined;
}

export interface SpanOptions {
  attributes?: Attributes;
  kind?: 'internal' | 'producer' | 'consumer' | 'client' | 'server';
  /** The context to start the span in; the active one by default. */
  parent?: Context;
  links?: Link[];
}

const KINDS = {
  internal: SpanKind.INTERNAL,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  client: SpanKind.CLIENT,
  server: SpanKind.SERVER,
};

/** Runs fn inside a new span that ends with it and records its error. */
export async function withSpan<T>(name: string, options: SpanOptions, fn: () => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(
    name,
    { attributes: options.attributes, kind: KINDS[options.kind ?? 'internal'], links: options.links },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), fn);
  } catch (err) {
    // A rejection need not be an Error (a string, a plain object): the span still says what it was.
    const message = err instanceof Error ? err.message : String(err);
    span.recordException(err instanceof Error ? err : message);
    span.setStatus({ code: SpanStatusCode.ERROR, message });
    throw err;
  } finally {
    span.end();
  }
}
