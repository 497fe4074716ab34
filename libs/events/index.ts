import { join } from 'node:path';

export { EventWriter, OUTBOX_CHANNEL, type NewEvent } from './outbox';
export { OutboxRelay, type RelayOptions } from './relay';
export { NatsLink, type NatsLinkOptions } from './nats-link';
export { ensureStream, streamConfig } from './stream';
export { subscribeEvents, type SubscribeOptions, type ReceivedEvent } from './subscribe';
export { eventSubject, eventFilterSubject } from './subjects';
export { eventServiceHandlers, queryEvents, type EventQuery } from './service';
export type { EventSettings } from './settings';

/** The outbox table's migrations: every service that records events runs them in its schema. */
export function outboxMigrationsDir(): string {
  return join(__dirname, 'migrations');
}
