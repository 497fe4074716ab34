import type { NatsConnection } from 'nats';
import { invalidArgument } from '../errors';
import { filterLists, matchesLabel } from '../filters';
import type { handlers } from '../grpc';
import type { events } from '../proto';
import { formatReference, parseReference } from '../reference';
import type { NatsLink } from './nats-link';
import type { EventSettings } from './settings';
import { subscribeEvents } from './subscribe';

/** A subscription as `docker events` asks for it. */
export interface EventQuery {
  filters: Record<string, string[]>;
  since?: { sequence: number } | { time: Date };
  until?: { sequence: number } | { time: Date };
}

const FILTER_KEYS = new Set(['type', 'event', 'container', 'image', 'volume', 'network', 'label', 'node']);

/**
 * The events of a query, replayed and then live, until its `until` or the signal. An `until` already
 * reached (a time past, a sequence the stream has) ends the stream once the events kept are sent;
 * one still ahead, when it comes.
 */
export async function* queryEvents(nc: NatsConnection, settings: Pick<EventSettings, 'stream' | 'subjectPrefix'>, query: EventQuery, signal: AbortSignal): AsyncGenerator<{ sequence: number; event: events.Event }> {
  for (const key of Object.keys(query.filters)) if (!FILTER_KEYS.has(key)) throw invalidArgument(`invalid filter "${key}": use ${[...FILTER_KEYS].join(', ')}`);
  const { since, until } = query;
  const stop = new AbortController();
  const abort = () => stop.abort();
  signal.addEventListener('abort', abort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  let caughtUp = false;
  if (until !== undefined && 'time' in until) {
    const wait = until.time.getTime() - Date.now();
    if (wait > 0) timer = setTimeout(abort, wait);
    else caughtUp = true;
  } else if (until !== undefined) {
    const stored = (await (await nc.jetstreamManager()).streams.info(settings.stream)).state.last_seq;
    caughtUp = stored >= until.sequence;
  }
  // One type and one action narrow the JetStream subject; anything more is filtered here.
  const single = (key: string) => (query.filters[key]?.length === 1 ? query.filters[key]![0] : undefined);
  try {
    if (since !== undefined && until !== undefined && 'sequence' in since && 'sequence' in until && since.sequence > until.sequence) return;
    const subscription = subscribeEvents(nc, { settings, type: single('type'), action: single('event'), since, signal: stop.signal, untilCaughtUp: caughtUp });
    for await (const { sequence, event } of subscription) {
      const past = until !== undefined && ('time' in until ? event.time !== undefined && event.time > until.time : sequence > until.sequence);
      if (past) return;
      if (matches(event, query.filters)) yield { sequence, event };
      if (until !== undefined && 'sequence' in until && sequence >= until.sequence) return;
    }
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}

/** `docker events --filter`: any value of a key, every key. */
function matches(event: events.Event, filters: Record<string, string[]>): boolean {
  const attributes = event.attributes;
  const is = (type: string, value: string) => event.type === type && (event.actorId === value || event.actorId.startsWith(value) || attributes.name === value);
  const tests: Record<string, (value: string) => boolean> = {
    type: (value) => event.type === value,
    event: (value) => event.action === value,
    container: (value) => is('container', value) || attributes.container === value,
    // By name as Docker takes it ("busybox" is docker.io/library/busybox:latest) or by id.
    image: (value) => is('image', value) || (event.type === 'image' && sameImage(attributes.name, value)) || (event.type === 'container' && sameImage(attributes.image, value)),
    volume: (value) => is('volume', value),
    network: (value) => is('network', value),
    label: (value) => matchesLabel(attributes, value),
    node: (value) => event.node === value,
  };
  return Object.entries(filters).every(([key, values]) => values.length === 0 || values.some((value) => tests[key]!(value)));
}

function sameImage(named: string | undefined, filter: string): boolean {
  if (named === undefined) return false;
  return named === filter || (normalised(named) ?? named) === normalised(filter);
}

function normalised(reference: string): string | undefined {
  try {
    return formatReference(parseReference(reference));
  } catch {
    return undefined;
  }
}

/** The EventService every service serves: its NATS connection's view of the event stream. */
export function eventServiceHandlers(rpc: ReturnType<typeof handlers>, link: NatsLink, settings: Pick<EventSettings, 'stream' | 'subjectPrefix'>): events.EventServiceServer {
  return {
    subscribe: rpc.serverStream<events.SubscribeRequest, events.SubscribeResponse>(async (request, send, { signal }) => {
      const query: EventQuery = {
        filters: filterLists(request.filters),
        since: request.since === undefined ? undefined : request.since.$case === 'sinceSequence' ? { sequence: request.since.value } : { time: request.since.value },
        until: request.until === undefined ? undefined : request.until.$case === 'untilSequence' ? { sequence: request.until.value } : { time: request.until.value },
      };
      const nc = await link.connectionReady();
      for await (const { sequence, event } of queryEvents(nc, settings, query, signal)) await send({ sequence, event });
    }),
  };
}
