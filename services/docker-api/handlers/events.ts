import type { BerthClient } from '../../../client';
import type { events } from '../../../libs/proto';
import { API_VERSION, filters, unixTime, type Router } from '../http/router';
import { clientGone } from '../http/transfer';

/** GET /events: Berth's durable event stream as Docker's, one JSON object a line, with filters, since and until. */
export function eventRoutes(router: Router, berth: BerthClient): void {
  router.on('GET', '/events', async ({ query, response }) => {
    const since = unixTime(query.get('since'));
    const until = unixTime(query.get('until'));
    const request: events.SubscribeRequest = {
      filters: filters(query),
      since: since === undefined ? undefined : { $case: 'sinceTime', value: since },
      until: until === undefined ? undefined : { $case: 'untilTime', value: until },
    };
    response.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION });
    response.flushHeaders();
    // The client hangs up to stop following.
    for await (const { event } of berth.events.stream('subscribe', request, { signal: clientGone(response) })) {
      response.write(`${JSON.stringify(dockerEvent(event!))}\n`);
    }
    response.end();
  });
}

/** An event as Docker's API gives it (with its legacy status, id and from fields for containers). */
function dockerEvent(event: events.Event): Record<string, unknown> {
  const nanos = BigInt(event.time?.getTime() ?? 0) * 1_000_000n;
  return {
    Type: event.type,
    Action: event.action,
    Actor: { ID: event.actorId, Attributes: event.attributes },
    scope: 'local',
    time: Number(nanos / 1_000_000_000n),
    timeNano: Number(nanos),
    ...(event.type === 'container' ? { status: event.action, id: event.actorId, from: event.attributes.image ?? '' } : {}),
  };
}
