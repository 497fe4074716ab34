import { invalidArgument } from '../../../libs/errors';
import { untilTime } from '../../../libs/filters';
import type { events } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { eventService, readStream } from '../../client';
import { parseFilters } from '../../output';
import { renderTemplate } from '../../template';

/**
 * `berth events [--since T] [--until T] [--since-sequence N] [--until-sequence N] [--filter k=v]...
 * [--format json|TEMPLATE]`: Docker's event stream, replayed from where it is asked to start. With a
 * --until it ends there; without, it follows until Ctrl-C. Each event carries its sequence: resume
 * with --since-sequence (the last one seen + 1) and nothing is missed or seen twice.
 */
export async function eventsCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      since: { type: 'string', value: 'TIME', description: 'Start at a timestamp (RFC 3339 or Unix seconds) or a duration ago (e.g. 30s, 10m, 24h)' },
      until: { type: 'string', value: 'TIME', description: 'Stop at a timestamp or a duration ago, as --since (default follow until Ctrl-C)' },
      'since-sequence': { type: 'string', value: 'NUMBER', description: 'Start at this stream sequence (the last one seen + 1 resumes exactly)' },
      'until-sequence': { type: 'string', value: 'NUMBER', description: 'Stop at this stream sequence' },
      filter: { type: 'string', short: 'f', multiple: true, value: 'KEY=VALUE', description: 'Filter by type, event, container, image, volume, network, label or node' },
      format: { type: 'string', value: 'FORMAT', description: 'Print each event as json (with its sequence) or through a Go template (default one line each)' },
    },
    'events',
  );
  if (values.since !== undefined && values['since-sequence'] !== undefined) throw invalidArgument('give --since or --since-sequence, not both');
  if (values.until !== undefined && values['until-sequence'] !== undefined) throw invalidArgument('give --until or --until-sequence, not both');
  const request: events.SubscribeRequest = {
    filters: parseFilters(values.filter),
    since:
      values['since-sequence'] !== undefined ? { $case: 'sinceSequence', value: sequence(values['since-sequence'], '--since-sequence') }
      : values.since !== undefined ? { $case: 'sinceTime', value: untilTime(values.since, 'since') }
      : undefined,
    until:
      values['until-sequence'] !== undefined ? { $case: 'untilSequence', value: sequence(values['until-sequence'], '--until-sequence') }
      : values.until !== undefined ? { $case: 'untilTime', value: untilTime(values.until) }
      : undefined,
  };
  const service = eventService();
  const stream = service.client.subscribe(request, service.metadata(), { deadline: Infinity });
  let cancelled = false;
  const cancel = () => {
    cancelled = true;
    stream.cancel();
  };
  process.once('SIGINT', cancel).once('SIGTERM', cancel);
  try {
    await readStream(stream, service.endpoint, (message: events.SubscribeResponse) => process.stdout.write(`${render(message, values.format)}\n`));
  } catch (err) {
    // Ctrl-C ends a followed stream: that is its normal end.
    if (!cancelled) throw err;
  } finally {
    service.close();
  }
  return 0;
}

function sequence(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw invalidArgument(`${flag} takes a stream sequence (1 or more), not "${text}"`);
  return Number(text);
}

/** Docker's line ("TIME TYPE ACTION ID (k=v, ...)"), or its JSON message with Berth's sequence. */
function render(message: events.SubscribeResponse, format: string | undefined): string {
  const event = message.event!;
  const docker = {
    status: event.action,
    id: event.actorId,
    from: event.attributes.image,
    Type: event.type,
    Action: event.action,
    Actor: { ID: event.actorId, Attributes: event.attributes },
    scope: 'local',
    node: event.node,
    time: Math.floor((event.time?.getTime() ?? 0) / 1000),
    timeNano: (event.time?.getTime() ?? 0) * 1_000_000,
    sequence: message.sequence,
  };
  if (format === 'json') return JSON.stringify(docker);
  if (format !== undefined) return renderTemplate(format, docker);
  const attributes = Object.entries(event.attributes).sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => `${key}=${value}`).join(', ');
  return `${event.time?.toISOString() ?? ''} ${event.type} ${event.action} ${event.actorId}${attributes === '' ? '' : ` (${attributes})`}`;
}
