import { randomUUID } from 'node:crypto';
import type { ClientBase } from 'pg';
import { events } from '../proto';
import { traceCarrier } from '../tracing';
import { eventSubject } from './subjects';

/** A change of state to record. */
export interface NewEvent {
  type: string;
  action: string;
  actorId: string;
  attributes?: Record<string, string>;
}

/** The Postgres channel on which a committed outbox row wakes the relay (payload: the schema). */
export const OUTBOX_CHANNEL = 'berth_outbox';

/**
 * Records events in the service's outbox. Call append() with the client of the transaction that makes
 * the change: the event exists if and only if the change commits.
 */
export class EventWriter {
  constructor(
    private readonly service: string,
    private readonly node: string,
    private readonly subjectPrefix: string,
  ) {}

  async append(client: ClientBase, change: NewEvent): Promise<events.Event> {
    const event: events.Event = {
      id: randomUUID(),
      time: new Date(),
      type: change.type,
      action: change.action,
      actorId: change.actorId,
      node: this.node,
      attributes: change.attributes ?? {},
      service: this.service,
    };
    const subject = eventSubject(this.subjectPrefix, change.type, change.action);
    await client.query(
      'INSERT INTO outbox (id, subject, payload, headers) VALUES ($1, $2, $3, $4)',
      [event.id, subject, events.Event.toJSON(event), traceCarrier()],
    );
    await client.query('SELECT pg_notify($1, current_schema())', [OUTBOX_CHANNEL]);
    return event;
  }
}
