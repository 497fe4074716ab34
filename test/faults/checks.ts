import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'nats';
import { subscribeEvents, type EventSettings } from '../../libs/events';
import { adminQuery, processesMentioning } from '../support';
import type { WorkloadResult } from './workload';

const run = promisify(execFile);

/** Where the suite under test keeps its state, and the containers that must live through every fault. */
export interface SuiteState {
  stateDir: string;
  postgresUrl: string;
  natsUrl: string;
  events: Pick<EventSettings, 'stream' | 'subjectPrefix'>;
  /** Running containers made before the faults, by id, with their pid: never lost, never restarted. */
  residents: Map<string, number>;
}

/** What a fault left wrong, one sentence each; none when all is well. */
export async function checkAfterFault(suite: SuiteState, workload: WorkloadResult): Promise<{ problems: string[]; events: number }> {
  const problems = [...workload.failures.map((failure) => `client failed: ${failure}`)];
  const ids = [...workload.ids.values()];
  if (new Set(ids).size !== ids.length) problems.push('two names got the same container');

  // Postgres holds the residents and nothing else: every container of the workload is gone, none twice.
  const rows = await adminQuery<{ id: string; name: string; state: string; pid: number }>(suite.postgresUrl, 'SELECT id, name, state, pid FROM runtime.containers');
  for (const row of rows) {
    if (!suite.residents.has(row.id)) problems.push(`container ${row.name} (${row.state}) is still recorded`);
  }
  // runc agrees with Postgres: the residents run, with the pid recorded for them before the fault.
  const runc = await runcContainers(join(suite.stateDir, 'runc'));
  for (const [id, pid] of suite.residents) {
    const row = rows.find((r) => r.id === id);
    const live = runc.get(id);
    if (row === undefined) problems.push(`resident ${id.slice(0, 12)} was lost from Postgres`);
    else if (row.state !== 'running' || row.pid !== pid) problems.push(`resident ${row.name} is ${row.state} with pid ${row.pid}, was running with ${pid}`);
    if (live?.status !== 'running' || live.pid !== pid) problems.push(`runc has resident ${id.slice(0, 12)} ${live === undefined ? 'not at all' : `${live.status} with pid ${live.pid}`}`);
  }
  for (const id of runc.keys()) if (!suite.residents.has(id)) problems.push(`runc still has container ${id.slice(0, 12)}`);
  // The workload's anonymous volumes went with their containers (rm -v).
  const volumes = await adminQuery<{ name: string }>(suite.postgresUrl, 'SELECT name FROM volumes.volumes');
  if (volumes.length > 0) problems.push(`${volumes.length} volumes are left: ${volumes.map((v) => v.name.slice(0, 12)).join(', ')}`);

  problems.push(...leaks(suite, ids));
  const events = await checkEvents(suite, ids, problems);
  return { problems, events };
}

/** Mounts, processes, cgroups and network namespaces of the workload's containers left on the host. */
function leaks(suite: SuiteState, ids: string[]): string[] {
  const found: string[] = [];
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((line) => line.split(' ')[1] ?? '');
  const processes = processesMentioning(suite.stateDir).map((p) => p.command);
  const cgroupRoots = ['/sys/fs/cgroup/berth', ...readdirSync('/sys/fs/cgroup').map((controller) => join('/sys/fs/cgroup', controller, 'berth'))];
  for (const id of ids) {
    const short = id.slice(0, 12);
    if (mounts.some((target) => target.includes(id))) found.push(`a mount of ${short} is left`);
    if (processes.some((command) => command.includes(id))) found.push(`a process of ${short} is left`);
    if (cgroupRoots.some((root) => existsSync(join(root, id)))) found.push(`a cgroup of ${short} is left`);
    if (existsSync(`/run/netns/berth-${short}`)) found.push(`the network namespace of ${short} is left`);
  }
  return found;
}

/**
 * Every container of the workload has its create and destroy events once each in JetStream, and a
 * die for each start; no event is there twice. Events wait in the services' outboxes while NATS is
 * away, so this waits for them to arrive (up to a minute) before it counts.
 */
async function checkEvents(suite: SuiteState, ids: string[], problems: string[]): Promise<number> {
  const wanted = new Set(ids);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { counts, total, duplicates } = await countEvents(suite, wanted);
    const complete = ids.every((id) => counts.get(`${id} create`) === 1 && counts.get(`${id} destroy`) === 1);
    if (complete || Date.now() > deadline) {
      for (const id of ids) {
        const count = (action: string) => counts.get(`${id} ${action}`) ?? 0;
        if (count('create') !== 1 || count('destroy') !== 1) problems.push(`container ${id.slice(0, 12)} has ${count('create')} create and ${count('destroy')} destroy events`);
        if (count('start') < 1 || count('start') !== count('die')) problems.push(`container ${id.slice(0, 12)} has ${count('start')} start and ${count('die')} die events`);
      }
      if (duplicates > 0) problems.push(`${duplicates} events are in the stream twice`);
      return total;
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

async function countEvents(suite: SuiteState, wanted: Set<string>): Promise<{ counts: Map<string, number>; total: number; duplicates: number }> {
  const nc = await connect({ servers: suite.natsUrl });
  const counts = new Map<string, number>();
  const seen = new Set<string>();
  let total = 0;
  let duplicates = 0;
  try {
    for await (const { event } of subscribeEvents(nc, { settings: suite.events, type: 'container', since: { sequence: 1 }, untilCaughtUp: true })) {
      if (!wanted.has(event.actorId)) continue;
      if (seen.has(event.id)) duplicates++;
      seen.add(event.id);
      total++;
      const key = `${event.actorId} ${event.action}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  } finally {
    await nc.close();
  }
  return { counts, total, duplicates };
}

async function runcContainers(root: string): Promise<Map<string, { status: string; pid: number }>> {
  const { stdout } = await run('runc', ['--root', root, 'list', '--format', 'json']);
  const list = (JSON.parse(stdout) ?? []) as Array<{ id: string; status: string; pid: number }>;
  return new Map(list.map((c) => [c.id, { status: c.status, pid: c.pid }]));
}
