import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  Deadline,
  Metadata,
  ServerUnaryCall,
  ServerWritableStream,
} from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { metrics, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { BerthError, invalidArgument } from '../errors';
import { activeTraceIds } from '../tracing';
import { toStatus } from './status';

/** What a handler knows about its call besides the request. */
export interface CallContext {
  /**
   * Aborted when the client cancels or the call's deadline passes: pass it to long work. Its reason is
   * a BerthError (cancelled, deadline_exceeded), so work that rethrows it is logged as such, not as a bug.
   */
  signal: AbortSignal;
  /** The client's deadline (Infinity for none), for calls made on its behalf. */
  deadline: Deadline;
  metadata: Metadata;
  peer: string;
}

/** What every kind of call has that a handler's context needs. */
type AnyCall = Pick<ServerUnaryCall<unknown, unknown>, 'getDeadline' | 'metadata' | 'getPeer'> & NodeJS.EventEmitter;

function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}

/** Runs work so that a synchronous throw (a handler that is not async) rejects like an async one. */
function attempt<T>(work: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(work()));
}

function callContext(call: AnyCall): { context: CallContext; dispose: () => void } {
  annotateSpan((call as { request?: unknown }).request);
  const controller = new AbortController();
  const onCancel = () => controller.abort(new BerthError('cancelled', 'the client cancelled the call'));
  call.once('cancelled', onCancel);
  const deadline = call.getDeadline();
  const remaining = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
  const timer = Number.isFinite(remaining)
    ? setTimeout(() => controller.abort(new BerthError('deadline_exceeded', 'the call passed its deadline')), Math.max(0, remaining))
    : undefined;
  return {
    context: { signal: controller.signal, deadline, metadata: call.metadata, peer: call.getPeer() },
    dispose: () => {
      clearTimeout(timer);
      call.removeListener('cancelled', onCancel);
    },
  };
}

/** Request fields that name what a call is about, and the span attributes they become. */
const ID_ATTRIBUTES: Record<string, string> = { container: 'berth.container', image: 'berth.image', imageId: 'berth.image', volume: 'berth.volume', network: 'berth.network' };

/**
 * The call's span (grpc-js's server span) gets the container, image, volume or network the request
 * names, so that a trace can be found by the object it touched.
 */
function annotateSpan(request: unknown): void {
  const span = trace.getActiveSpan();
  if (span === undefined || typeof request !== 'object' || request === null) return;
  for (const [field, attribute] of Object.entries(ID_ATTRIBUTES)) {
    const value = (request as Record<string, unknown>)[field];
    if (typeof value === 'string' && value !== '') span.setAttribute(attribute, value);
  }
}

/**
 * send() for a server stream: resolves once the message is buffered, waiting while the client reads
 * slowly; rejects when the call is aborted, since a client that has gone will never make room.
 */
function sender<Res>(call: ServerWritableStream<unknown, Res>, signal: AbortSignal): (message: Res) => Promise<void> {
  return (message) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      if (call.write(message)) return resolve();
      const onDrain = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        call.removeListener('drain', onDrain);
        reject(signal.reason);
      };
      call.once('drain', onDrain);
      signal.addEventListener('abort', onAbort, { once: true });
    });
}

/**
 * Refuses a request with a NUL character in any of its strings. No name, path, label, command or
 * variable can hold one (Postgres text refuses it, and so does every system call that takes a path
 * or an argument), and a handler that passed one on would fail with an error of the database's or of
 * Node's, reported as INTERNAL. Bytes fields are data, and are not looked into.
 */
export function checkStrings(message: unknown, where = ''): void {
  const visit = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      if (value.includes('\0')) throw invalidArgument(`${path || 'the request'}${where} contains a NUL character`);
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, `${path}[${index}]`));
    } else if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !(value instanceof Date)) {
      for (const [key, inner] of Object.entries(value)) {
        visit(key, `a key of ${path || 'the request'}`);
        visit(inner, path === '' ? key : `${path}.${key}`);
      }
    }
  };
  visit(message, '');
}

/** A client's messages, each checked by checkStrings as it comes. */
async function* checkedMessages<M>(messages: AsyncIterable<M>): AsyncGenerator<M> {
  for await (const message of messages) {
    checkStrings(message, ' in a message');
    yield message;
  }
}

/**
 * Turns async domain functions into grpc-js handlers: each call is logged once with its method, code,
 * duration and trace id, and each error is mapped to a status in one place (toStatus).
 */
export function handlers(logger: Logger) {
  const meter = metrics.getMeter('berth-rpc');
  // Buckets for calls of a millisecond to a minute (OpenTelemetry's defaults suit milliseconds, not seconds).
  const durations = meter.createHistogram('berth_rpc_duration_seconds', {
    description: 'How long RPCs take, by method and status code',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] },
  });
  const errors = meter.createCounter('berth_rpc_errors_total', { description: 'RPCs that ended with an error, by method and status code' });

  function succeeded(method: string, started: number): void {
    const ms = elapsedMs(started);
    durations.record(ms / 1000, { rpc: method, code: 'OK' });
    logger.info({ rpc: method, code: 'OK', duration_ms: ms }, `rpc ${method} ok`);
  }

  function failed(method: string, started: number, err: unknown) {
    const status = toStatus(err, activeTraceIds()?.trace_id);
    const fields = { rpc: method, code: status.code, duration_ms: elapsedMs(started) };
    // The status's name, as for success ("OK"): NOT_FOUND, UNAVAILABLE, ...
    const code = grpcStatus[status.code] ?? String(status.code);
    durations.record(fields.duration_ms / 1000, { rpc: method, code });
    errors.add(1, { rpc: method, code });
    if (err instanceof BerthError) logger.info({ ...fields, error: status.details }, `rpc ${method} failed: ${status.details}`);
    else if (status.code !== grpcStatus.INTERNAL) logger.warn({ ...fields, err }, `rpc ${method} failed: ${status.details}`);
    else logger.error({ ...fields, err }, `rpc ${method} failed with an unexpected error`);
    return status;
  }

  /** Runs a call that ends with one response (unary, client-streaming) and answers it. */
  function answer<Res>(
    call: AnyCall & { getPath(): string },
    callback: (error: ReturnType<typeof failed> | null, response?: Res) => void,
    work: (context: CallContext) => Promise<Res>,
  ): void {
    const started = performance.now();
    const { context, dispose } = callContext(call);
    attempt(() => work(context)).then(
      (response) => {
        dispose();
        succeeded(call.getPath(), started);
        callback(null, response);
      },
      (err: unknown) => {
        dispose();
        callback(failed(call.getPath(), started, err));
      },
    );
  }

  /** Runs a call that answers with a stream (server-streaming, bidirectional) and ends it. */
  function stream<Res>(call: ServerWritableStream<unknown, Res>, work: (send: (message: Res) => Promise<void>, context: CallContext) => Promise<void>): void {
    const started = performance.now();
    const { context, dispose } = callContext(call);
    attempt(() => work(sender(call, context.signal), context)).then(
      () => {
        dispose();
        succeeded(call.getPath(), started);
        call.end();
      },
      (err: unknown) => {
        dispose();
        call.emit('error', failed(call.getPath(), started, err));
      },
    );
  }

  return {
    unary<Req, Res>(fn: (request: Req, context: CallContext) => Promise<Res>): handleUnaryCall<Req, Res> {
      return (call, callback) =>
        answer(call, callback, (context) => {
          checkStrings(call.request);
          return fn(call.request, context);
        });
    },

    /** A client-streaming handler: fn reads the messages as an async iterable and resolves with the response. */
    clientStream<Req, Res>(fn: (messages: AsyncIterable<Req>, context: CallContext) => Promise<Res>): handleClientStreamingCall<Req, Res> {
      return (call, callback) => answer(call, callback, (context) => fn(checkedMessages(call as AsyncIterable<Req>), context));
    },

    /** A server-streaming handler: fn writes messages with send() and resolves when the stream is done. */
    serverStream<Req, Res>(
      fn: (request: Req, send: (message: Res) => Promise<void>, context: CallContext) => Promise<void>,
    ): handleServerStreamingCall<Req, Res> {
      return (call) =>
        stream(call, (send, context) => {
          checkStrings(call.request);
          return fn(call.request, send, context);
        });
    },

    /** A bidirectional handler: fn reads the client's messages as an async iterable and writes with send(). */
    bidiStream<Req, Res>(
      fn: (messages: AsyncIterable<Req>, send: (message: Res) => Promise<void>, context: CallContext) => Promise<void>,
    ): handleBidiStreamingCall<Req, Res> {
      // Not the stream's own iterator: at the end of the client's messages it destroys the stream,
      // both ways, and the server could not answer a client that half-closed before the answer.
      return (call) =>
        stream(call as unknown as ServerWritableStream<unknown, Res>, (send, context) => fn(checkedMessages(call.iterator({ destroyOnReturn: false }) as AsyncIterable<Req>), send, context));
    },
  };
}
