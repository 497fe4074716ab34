import type {
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  Metadata,
  ServerUnaryCall,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { BerthError } from '../errors';
import { activeTraceIds } from '../tracing';
import { toStatus } from './status';

/** What a handler knows about its call besides the request. */
export interface CallContext {
  /** Aborted when the client cancels or the call's deadline passes: pass it to long work. */
  signal: AbortSignal;
  metadata: Metadata;
  peer: string;
}

/** What every kind of call has that a handler's context needs. */
type AnyCall = Pick<ServerUnaryCall<unknown, unknown>, 'getDeadline' | 'metadata' | 'getPeer'> & NodeJS.EventEmitter;

function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}

function callContext(call: AnyCall): { context: CallContext; dispose: () => void } {
  const controller = new AbortController();
  const onCancel = () => controller.abort(new Error('the client cancelled the call'));
  call.once('cancelled', onCancel);
  const deadline = call.getDeadline();
  const remaining = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
  const timer = Number.isFinite(remaining)
    ? setTimeout(() => controller.abort(new Error('the call passed its deadline')), Math.max(0, remaining))
    : undefined;
  return {
    context: { signal: controller.signal, metadata: call.metadata, peer: call.getPeer() },
    dispose: () => {
      clearTimeout(timer);
      call.removeListener('cancelled', onCancel);
    },
  };
}

/**
 * Turns async domain functions into grpc-js handlers: each call is logged once with its method, code,
 * duration and trace id, and each error is mapped to a status in one place (toStatus).
 */
export function handlers(logger: Logger) {
  function succeeded(method: string, started: number): void {
    logger.info({ rpc: method, code: 'OK', duration_ms: elapsedMs(started) }, `rpc ${method} ok`);
  }

  function failed(method: string, started: number, err: unknown) {
    const status = toStatus(err, activeTraceIds()?.trace_id);
    const fields = { rpc: method, code: status.code, duration_ms: elapsedMs(started) };
    if (err instanceof BerthError) logger.info({ ...fields, error: status.details }, `rpc ${method} failed: ${status.details}`);
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
    work(context).then(
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

  return {
    unary<Req, Res>(fn: (request: Req, context: CallContext) => Promise<Res>): handleUnaryCall<Req, Res> {
      return (call, callback) => answer(call, callback, (context) => fn(call.request, context));
    },

    /** A client-streaming handler: fn reads the messages as an async iterable and resolves with the response. */
    clientStream<Req, Res>(fn: (messages: AsyncIterable<Req>, context: CallContext) => Promise<Res>): handleClientStreamingCall<Req, Res> {
      return (call, callback) => answer(call, callback, (context) => fn(call as AsyncIterable<Req>, context));
    },

    /** A server-streaming handler: fn writes messages with send() and resolves when the stream is done. */
    serverStream<Req, Res>(
      fn: (request: Req, send: (message: Res) => Promise<void>, context: CallContext) => Promise<void>,
    ): handleServerStreamingCall<Req, Res> {
      return (call) => {
        const started = performance.now();
        const { context, dispose } = callContext(call);
        const send = (message: Res) =>
          new Promise<void>((resolve) => {
            if (call.write(message)) resolve();
            else call.once('drain', resolve);
          });
        fn(call.request, send, context).then(
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
      };
    },
  };
}
