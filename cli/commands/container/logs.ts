import { invalidArgument } from '../../../libs/errors';
import type { runtime } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { readStream, runtimeAgent } from '../../client';

type Agent = ReturnType<typeof runtimeAgent>;

/** `berth logs [-f] [--tail N] [--since T] [--until T] [-t] CONTAINER` */
export async function logs(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      follow: { type: 'boolean', short: 'f', default: false, description: 'Follow the output until the container stops' },
      tail: { type: 'string', short: 'n', default: 'all', value: 'NUMBER', description: 'Number of lines to show from the end of the log, or all' },
      since: { type: 'string', value: 'TIME', description: 'Show lines since a timestamp (RFC 3339 or Unix seconds) or a duration ago (e.g. 10m, 1h30m)' },
      until: { type: 'string', value: 'TIME', description: 'Show lines before a timestamp (RFC 3339 or Unix seconds) or a duration ago (e.g. 10m, 1h30m)' },
      timestamps: { type: 'boolean', short: 't', default: false, description: 'Prefix each line with its time (ISO 8601, UTC)' },
    },
    'logs',
  );
  if (positionals.length !== 1) throw invalidArgument('logs: give one container');
  if (values.tail !== 'all' && !/^\d+$/.test(values.tail)) throw invalidArgument(`logs: --tail takes a number or "all", not "${values.tail}"`);
  const agent = runtimeAgent();
  try {
    await writeLogs(
      agent,
      {
        container: positionals[0]!,
        follow: values.follow,
        tail: values.tail === 'all' ? 0 : Number(values.tail),
        // --tail 0 is none of the past lines (the request's 0 is all of them): only what comes from now.
        since: values.tail !== 'all' && Number(values.tail) === 0 ? new Date() : values.since === undefined ? undefined : pointInTime(values.since),
        until: values.until === undefined ? undefined : pointInTime(values.until),
        noStdout: false,
        noStderr: false,
      },
      values.timestamps,
    );
  } finally {
    agent.close();
  }
  return 0;
}

/** Streams a container's log lines to this process's stdout and stderr, as the container wrote them. */
export async function writeLogs(agent: Agent, request: runtime.LogsRequest, timestamps = false): Promise<void> {
  const stream = agent.client.logs(request, agent.metadata(), { deadline: Infinity });
  await readStream(stream, agent.endpoint, (line) => {
    const out = line.stream === 2 ? process.stderr : process.stdout;
    if (timestamps) out.write(`${line.time!.toISOString()} `);
    out.write(line.data);
  });
}

/** "2026-11-23T10:00:00Z", a Unix time, or a duration back from now ("10m", "1h30m"). */
function pointInTime(text: string): Date {
  const duration = /^(\d+h)?(\d+m)?(\d+s)?$/.exec(text);
  if (duration !== null && text !== '') {
    const [h, m, s] = [duration[1], duration[2], duration[3]].map((part) => Number(part?.slice(0, -1) ?? 0));
    return new Date(Date.now() - ((h! * 60 + m!) * 60 + s!) * 1000);
  }
  const date = /^\d+(\.\d+)?$/.test(text) ? new Date(Number(text) * 1000) : new Date(text);
  if (Number.isNaN(date.getTime())) throw invalidArgument(`invalid time "${text}": a timestamp or a duration such as 10m`);
  return date;
}
