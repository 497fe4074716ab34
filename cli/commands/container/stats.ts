import type { ClientReadableStream } from '@grpc/grpc-js';
import type { runtime } from '../../../libs/proto';
import { invalidArgument } from '../../../libs/errors';
import { parseFlags, parseFlagsThenCommand } from '../../args';
import { readStream, runtimeAgent } from '../../client';
import { table } from '../../output';
import { humanSize } from '../../progress';
import { renderTemplate } from '../../template';

/** `berth stats [--no-stream] [--format json|TEMPLATE] [CONTAINER...]`: every running container when none is named. */
export async function stats(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      'no-stream': { type: 'boolean', default: false, description: 'Print one reading and exit instead of streaming' },
      format: { type: 'string', default: 'table', value: 'FORMAT', description: "Output format: table, json (one object a line) or a Go template over Berth's stats fields" },
    },
    'stats',
  );
  const agent = runtimeAgent();
  try {
    const names =
      positionals.length > 0
        ? positionals
        : (await agent.call<runtime.ListResponse>((m, o, cb) => agent.client.list({ all: false, filters: {} }, m, o, cb))).containers.map((c) => c.id);
    const latest = new Map<string, runtime.StatsResponse>();
    const print = () => {
      const rows = names.map((name) => latest.get(name)).filter((s): s is runtime.StatsResponse => s !== undefined);
      if (!values['no-stream'] && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
      if (values.format === 'table') {
        process.stdout.write(
          table(
            ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'],
            rows.map((s) => [
              s.id.slice(0, 12),
              s.name,
              `${s.cpuPercent.toFixed(2)}%`,
              `${humanSize(s.memoryUsage)} / ${humanSize(s.memoryLimit)}`,
              `${((s.memoryUsage / s.memoryLimit) * 100).toFixed(2)}%`,
              '--',
              `${humanSize(s.blockReadBytes)} / ${humanSize(s.blockWriteBytes)}`,
              String(s.pids),
            ]),
          ),
        );
      } else {
        for (const s of rows) process.stdout.write(`${values.format === 'json' ? JSON.stringify(s) : renderTemplate(values.format, s)}\n`);
      }
    };
    // One stream per container; in --no-stream mode each sends one reading and ends.
    await Promise.all(
      names.map((name) => {
        const stream: ClientReadableStream<runtime.StatsResponse> = agent.client.stats({ container: name, stream: !values['no-stream'] }, agent.metadata(), { deadline: Infinity });
        return readStream(stream, agent.endpoint, (reading) => {
          latest.set(name, reading);
          if (!values['no-stream']) print();
        });
      }),
    );
    if (values['no-stream']) print();
  } finally {
    agent.close();
  }
  return 0;
}

/** `berth top CONTAINER [ps OPTIONS]` */
export async function top(args: string[]): Promise<number> {
  const [container, ...psArgs] = parseFlagsThenCommand(args, {}, 'top').positionals;
  if (container === undefined) throw invalidArgument('top: give a container');
  const agent = runtimeAgent();
  try {
    const response = await agent.call<runtime.TopResponse>((m, o, cb) => agent.client.top({ container, psArgs }, m, o, cb));
    process.stdout.write(table(response.titles, response.processes.map((p) => p.values)));
  } finally {
    agent.close();
  }
  return 0;
}
