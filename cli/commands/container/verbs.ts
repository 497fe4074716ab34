import { invalidArgument, messageOf } from '../../../libs/errors';
import type { runtime } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { runtimeAgent } from '../../client';
import { humanSize } from '../../progress';
import { parseFilters } from '../../output';
import { parseBytes } from '../../units';
import { restartPolicy } from './create-flags';
import { attachStreams } from './attach';

type Agent = ReturnType<typeof runtimeAgent>;

/**
 * Runs one call per named container, printing each name as Docker does; a failure is reported and
 * the others still go. Exit 1 when any failed.
 */
async function eachContainer(names: string[], verb: string, act: (agent: Agent, container: string) => Promise<unknown>, print = (name: string) => `${name}\n`): Promise<number> {
  if (names.length === 0) throw invalidArgument(`${verb}: give at least one container`);
  const agent = runtimeAgent();
  let failed = false;
  try {
    for (const name of names) {
      try {
        const result = await act(agent, name);
        process.stdout.write(typeof result === 'string' ? result : print(name));
      } catch (err) {
        process.stderr.write(`berth: ${verb} ${name}: ${messageOf(err)}\n`);
        failed = true;
      }
    }
  } finally {
    agent.close();
  }
  return failed ? 1 : 0;
}

/** `berth start [-a] [-i] CONTAINER...`: with -a, attached from the first byte, exiting with its code. */
export async function start(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      attach: { type: 'boolean', short: 'a', default: false, description: "Attach to the container's output and exit with its code (one container)" },
      interactive: { type: 'boolean', short: 'i', default: false, description: 'Attach STDIN too, if the container was created with -i (one container)' },
    },
    'start',
  );
  if (!values.attach && !values.interactive) return eachContainer(positionals, 'start', (a, container) => a.call((m, o, cb) => a.client.start({ container }, m, o, cb)));
  if (positionals.length !== 1) throw invalidArgument('start: -a and -i take one container');
  const agent = runtimeAgent();
  try {
    const detail = await agent.call<runtime.InspectResponse>((m, o, cb) => agent.client.inspect({ container: positionals[0]! }, m, o, cb));
    const config = detail.container!.config!;
    return await attachStreams(agent, positionals[0]!, { start: true, stdin: values.interactive && config.openStdin, tty: config.tty });
  } finally {
    agent.close();
  }
}

/** `berth stop [-t SECONDS] [-s SIGNAL] CONTAINER...` */
export async function stop(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      time: { type: 'string', short: 't', value: 'SECONDS', description: "Seconds to wait before SIGKILL (default the container's stop timeout, 10 unless set; -1 waits forever)" },
      signal: { type: 'string', short: 's', default: '', value: 'SIGNAL', description: "Signal to stop with, by name or number (default the container's stop signal, SIGTERM unless set)" },
    },
    'stop',
  );
  const timeout = seconds(values.time, 'stop');
  return eachContainer(positionals, 'stop', (a, container) => a.call((m, o, cb) => a.client.stop({ container, timeout, signal: values.signal }, m, { ...o, deadline: Infinity }, cb)));
}

/** `berth restart [-t SECONDS] CONTAINER...` */
export async function restart(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    { time: { type: 'string', short: 't', value: 'SECONDS', description: "Seconds to wait for the stop before SIGKILL (default the container's stop timeout, 10 unless set)" } },
    'restart',
  );
  const timeout = seconds(values.time, 'restart');
  return eachContainer(positionals, 'restart', (a, container) => a.call((m, o, cb) => a.client.restart({ container, timeout }, m, { ...o, deadline: Infinity }, cb)));
}

/** `berth kill [-s SIGNAL] CONTAINER...` */
export async function kill(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { signal: { type: 'string', short: 's', default: 'KILL', value: 'SIGNAL', description: 'Signal to send, by name (KILL or SIGKILL) or number' } }, 'kill');
  return eachContainer(positionals, 'kill', (a, container) => a.call((m, o, cb) => a.client.kill({ container, signal: values.signal }, m, o, cb)));
}

/** `berth pause CONTAINER...` */
export async function pause(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, {}, 'pause');
  return eachContainer(positionals, 'pause', (a, container) => a.call((m, o, cb) => a.client.pause({ container }, m, o, cb)));
}

/** `berth unpause CONTAINER...` */
export async function unpause(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, {}, 'unpause');
  return eachContainer(positionals, 'unpause', (a, container) => a.call((m, o, cb) => a.client.unpause({ container }, m, o, cb)));
}

/** `berth rm [-f] [-v] CONTAINER...` */
export async function rm(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      force: { type: 'boolean', short: 'f', default: false, description: 'Force the removal of a running container (killing it)' },
      volumes: { type: 'boolean', short: 'v', default: false, description: 'Remove the anonymous volumes of the container too' },
    },
    'rm',
  );
  return eachContainer(positionals, 'rm', (a, container) => a.call((m, o, cb) => a.client.remove({ container, force: values.force, volumes: values.volumes }, m, o, cb)));
}

/** `berth wait CONTAINER...`: prints each exit code. */
export async function wait(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, {}, 'wait');
  return eachContainer(positionals, 'wait', async (a, container) => {
    const response = await a.call<runtime.WaitResponse>((m, o, cb) => a.client.wait({ container, condition: 0 }, m, { ...o, deadline: Infinity }, cb));
    return `${response.exitCode}\n`;
  });
}

/** `berth rename CONTAINER NEW_NAME` */
export async function rename(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, {}, 'rename');
  if (positionals.length !== 2) throw invalidArgument('rename: give the container and its new name');
  const agent = runtimeAgent();
  try {
    await agent.call((m, o, cb) => agent.client.rename({ container: positionals[0]!, name: positionals[1]! }, m, o, cb));
  } finally {
    agent.close();
  }
  return 0;
}

/** `berth update [--memory M] [--cpus N] [--pids-limit N] [--restart POLICY] CONTAINER...` */
export async function update(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      memory: { type: 'string', short: 'm', value: 'SIZE', description: 'Memory limit, in bytes or with a unit: b, k, m, g, t (e.g. 64m or 1g; at least 6m)' },
      cpus: { type: 'string', value: 'NUMBER', description: "Number of CPUs the container may use, e.g. 1.5 (from 0.01 to the host's count)" },
      'pids-limit': { type: 'string', value: 'NUMBER', description: 'Maximum number of processes in the container' },
      restart: { type: 'string', value: 'POLICY', description: 'Restart policy when the container exits: no, always, unless-stopped or on-failure[:MAX_RETRIES]' },
    },
    'update',
  );
  const resources = {
    memoryBytes: values.memory === undefined ? 0 : parseBytes(values.memory, '--memory'),
    cpus: values.cpus === undefined ? 0 : Number(values.cpus),
    pidsLimit: values['pids-limit'] === undefined ? 0 : Number(values['pids-limit']),
  };
  if (Number.isNaN(resources.cpus) || Number.isNaN(resources.pidsLimit)) throw invalidArgument('update: --cpus and --pids-limit take numbers');
  return eachContainer(positionals, 'update', (a, container) =>
    a.call((m, o, cb) => a.client.update({ container, resources, restartPolicy: restartPolicy(values.restart) }, m, o, cb)),
  );
}

/** `berth container prune [-f] [--filter k=v]` */
export async function prune(args: string[]): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      force: { type: 'boolean', short: 'f', default: true, description: 'Do not prompt for confirmation; Berth never does' },
      filter: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'Remove only containers that match: label=KEY[=VALUE], until=TIMESTAMP|DURATION (created before)' },
    },
    'container prune',
  );
  const agent = runtimeAgent();
  let result: runtime.PruneResponse;
  try {
    result = await agent.call<runtime.PruneResponse>((m, o, cb) => agent.client.prune({ filters: parseFilters(values.filter) }, m, o, cb));
  } finally {
    agent.close();
  }
  if (result.deleted.length > 0) process.stdout.write(`Deleted Containers:\n${result.deleted.map((id) => `${id}\n`).join('')}\n`);
  process.stdout.write(`Total reclaimed space: ${humanSize(result.spaceReclaimed)}\n`);
  return 0;
}

function seconds(text: string | undefined, verb: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text)) throw invalidArgument(`${verb}: -t takes whole seconds, not "${text}"`);
  return Number(text);
}
