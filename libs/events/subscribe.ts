import { DeliverPolicy, type NatsConnection } from 'nats';
import type { Context } from '@opentelemetry/api';
import { events } from '../proto';
import { contextFromCarrier } from '../tracing';
import type { EventSettings } from './settings';
import { eventFilterSubject } from './subjects';

export interface SubscribeOptions {
  settings: Pick<EventSettings, 'stream' | 'subjectPrefix'>;
  /** Only events of this type ("container"); all by default. */
  type?: string;
  /** Only events with this action ("die"); all by default. */
  action?: string;
  /**
   * Where to start: a stream sequence (1 for everything kept) or a time; without it, only events
   * published from now on.
   */
  since?: { sequence: number } | { time: Date };
  signal?: AbortSignal;
  /** Replay only: end once every event kept (that matches) has been sent, instead of following. */
  untilCaughtUp?: boolean;
}

export interface ReceivedEvent {
  /** The event's sequence in the stream: resume after a restart with since = { sequence: this + 1 }. */
  sequence: number;
  event: events.Event;
  /** The trace context the event was published in: start the consumer's span with it as parent. */
  context: Context;
}

/** Replays events from JetStream, then follows live ones, in stream order, until the signal aborts. */
export async function* subscribeEvents(nc: NatsConnection, options: SubscribeOptions): AsyncGenerator<ReceivedEvent> {
  const signal = options.signal;
  if (signal?.aborted) return;
  const since = options.since;
  const start =
    since === undefined
      ? { deliver_policy: DeliverPolicy.New }
      : 'sequence' in since
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: since.sequence }
        : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.time.toISOString() };
  const consumer = await nc.jetstream().consumers.get(options.settings.stream, {
    // A single subject as a string: nats-server 2.9 knows filter_subject, not filter_subjects.
    filterSubjects: eventFilterSubject(options.settings.subjectPrefix, options.type, options.action),
    ...start,
  });
  if (options.untilCaughtUp && (await consumer.info()).num_pending === 0) {
    await consumer.delete().catch(() => undefined);
    return;
  }
  const messages = await consumer.consume();
  const stop = () => void messages.stop();
  signal?.addEventListener('abort', stop, { once: true });
  // An abort while the consumer was being made fired no listener: it must still end the iteration.
  if (signal?.aborted) stop();
  try {
    for await (const message of messages) {
      const carrier: Record<string, string> = {};
      for (const key of message.headers?.keys() ?? []) carrier[key.toLowerCase()] = message.headers!.get(key);
      yield {
        sequence: message.seq,
        event: events.Event.fromJSON(message.json()),
        context: contextFromCarrier(carrier),
      };
      if (options.untilCaughtUp && message.info.pending === 0) return;
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    await messages.close().catch(() => undefined);
    // Closing leaves the ordered consumer on the server for its inactive threshold (5 minutes): with a
    // subscription per client call, they would pile up.
    await consumer.delete().catch(() => undefined);
  }
}
