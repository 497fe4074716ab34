import { once } from 'node:events';
import { Metadata, type Client, type MethodDefinition, type ServiceError } from '@grpc/grpc-js';
import type { CallContext } from './handlers';
import { fromServiceError } from './status';

/**
 * Marks a call that one server made on a client's behalf, so that the server receiving it answers
 * it itself and never passes it on again.
 */
export const FORWARDED_BY = 'berth-forwarded-by';

/** Whether a call came from another server passing on its client's call. */
export function isForwarded(context: CallContext): boolean {
  return context.metadata.get(FORWARDED_BY).length > 0;
}

/**
 * Passes calls on to another server of the same service, as they came: the same method and messages,
 * the client's deadline, and a cancellation when the client cancels. The other server's errors come
 * back as BerthErrors of the same kind, so the client sees what that server said.
 */
export class CallForwarder {
  constructor(
    private readonly client: Client,
    /** Who answers, for error messages ("node host-b (10.0.0.2:7001)"). */
    private readonly target: string,
    /** Who forwards: this server's node. */
    private readonly from: string,
  ) {}

  unary<Req, Res>(method: MethodDefinition<Req, Res>, request: Req, context: CallContext): Promise<Res> {
    return new Promise((resolve, reject) => {
      const call = this.client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, this.metadata(), { deadline: context.deadline }, (err, response) =>
        err ? reject(this.error(err)) : resolve(response!),
      );
      this.cancelWith(context, () => call.cancel());
    });
  }

  async serverStream<Req, Res>(method: MethodDefinition<Req, Res>, request: Req, send: (message: Res) => Promise<void>, context: CallContext): Promise<void> {
    const call = this.client.makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, request, this.metadata(), { deadline: context.deadline });
    this.cancelWith(context, () => call.cancel());
    await this.relay(call, send, () => call.cancel());
  }

  clientStream<Req, Res>(method: MethodDefinition<Req, Res>, messages: AsyncIterable<Req>, context: CallContext): Promise<Res> {
    return new Promise((resolve, reject) => {
      const call = this.client.makeClientStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, this.metadata(), { deadline: context.deadline }, (err, response) =>
        err ? reject(this.error(err)) : resolve(response!),
      );
      this.cancelWith(context, () => call.cancel());
      void pump(messages, call).catch(() => call.cancel());
    });
  }

  async bidiStream<Req, Res>(method: MethodDefinition<Req, Res>, messages: AsyncIterable<Req>, send: (message: Res) => Promise<void>, context: CallContext): Promise<void> {
    const call = this.client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, this.metadata(), { deadline: context.deadline });
    this.cancelWith(context, () => call.cancel());
    void pump(messages, call).catch(() => call.cancel());
    await this.relay(call, send, () => call.cancel());
  }

  /** The other server's messages to the client; a client that stopped reading cancels the call. */
  private async relay<Res>(call: AsyncIterable<unknown>, send: (message: Res) => Promise<void>, cancel: () => void): Promise<void> {
    try {
      for await (const message of call) await send(message as Res);
    } catch (err) {
      cancel();
      throw (err as ServiceError).code === undefined ? err : this.error(err as ServiceError);
    }
  }

  private metadata(): Metadata {
    const metadata = new Metadata();
    metadata.set(FORWARDED_BY, this.from);
    return metadata;
  }

  private error(err: ServiceError) {
    return fromServiceError(err, this.target);
  }

  private cancelWith(context: CallContext, cancel: () => void): void {
    if (context.signal.aborted) cancel();
    else context.signal.addEventListener('abort', cancel, { once: true });
  }
}

/** Writes a client's messages to the other server as they come, then half-closes. */
async function pump<Req>(messages: AsyncIterable<Req>, call: { write(message: Req): boolean; end(): void; once(event: 'drain', listener: () => void): unknown }): Promise<void> {
  for await (const message of messages) {
    if (!call.write(message)) await once(call as unknown as NodeJS.EventEmitter, 'drain');
  }
  call.end();
}

/**
 * The first message of a client's stream (undefined for an empty one), and the whole stream again,
 * that first message included, for whoever reads it next: the first message says where the call goes.
 */
export async function peekFirst<M>(messages: AsyncIterable<M>): Promise<{ first: M | undefined; messages: AsyncIterable<M> }> {
  const iterator = messages[Symbol.asyncIterator]();
  const next = await iterator.next();
  const first = next.done ? undefined : next.value;
  async function* replay(): AsyncGenerator<M> {
    if (first === undefined) return;
    yield first;
    for (let more = await iterator.next(); !more.done; more = await iterator.next()) yield more.value;
  }
  return { first, messages: replay() };
}
