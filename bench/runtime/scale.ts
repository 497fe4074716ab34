import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../../libs/errors';
import { runtime } from '../../libs/proto';
import { containerPaths } from '../../services/runtime-agent/containers/paths';
import { berth, testNetworkSettings } from '../../test/support';
import type { SharedServices } from '../../test/support/shared';
import { isInterrupted, scoped } from '../scope';
import { mean, summarize, timed, type Stats } from '../stats';
import { quantity, type Row } from '../table';
import { createContainer, removeContainer, startContainer } from './containers';
import { RuncFloor } from './floor';
import { cgroupMemoryBytes, conmonPids, meminfo, pssBytes, rssBytes } from './memory';
import { errorLines, startRuntimeBench, type RuntimeBench } from './suite';

/** The scale points, as containers on the host: BERTH_BENCH_SCALE=1,10,100 stops a quick run at 100. */
export const DEFAULT_SCALE_POINTS = [1, 10, 100, 500];
/** What every idle container runs: longer than any run. */
const IDLE = ['sleep', '86400'];
/** Creates and starts in flight at once while growing: modest, so that the agent is loaded as by a busy user, not flooded. */
const GROW_CONCURRENCY = 10;
const START_WARM_UPS = 1;
const START_SAMPLES = 7;
const LIST_WARM_UPS = 1;
const LIST_SAMPLES = 10;
const CLI_SAMPLES = 5;
/** Lets the agent's and conmons' start-up allocations settle before they are weighed. */
const SETTLE_MS = 2_000;
const MIB = 1024 * 1024;
/** Before anything is measured: what one container is assumed to take of the host, generously. */
const ASSUMED_BYTES_PER_CONTAINER = 16 * MIB;
/**
 * Once measured, the estimate is the containers' RSS figures (conmon's and the process's, counting
 * shared pages in each, + the cgroup + the agent's share) doubled, for the kernel memory of their
 * namespaces, mounts and veth pairs that none of them shows; never under MIN_BYTES_PER_CONTAINER. The
 * host's used memory is not used: other work on the machine moves it by more than the containers do.
 */
const ESTIMATE_MARGIN = 2;
const MIN_BYTES_PER_CONTAINER = 4 * MIB;
/** The floor's one container, started and deleted at each sample. */
const FLOOR_ID = 'bench-floor-scale';
/**
 * Removals in flight at once at the end: half the agent's Postgres connections (10). 20 at once, as
 * runtime-idle-memory removes them, timed out waiting for a connection on this loaded machine.
 */
const REMOVE_CONCURRENCY = 5;
/** How long the removal through the API may take before the services' own cleanup takes over. */
const REMOVE_TIMEOUT_MS = 180_000;

/** What one scale point measured. */
export interface ScalePoint {
  containers: number;
  /** Seconds to grow to this point from the one before, GROW_CONCURRENCY at a time. */
  growSeconds: number;
  /** Create + start of one more container, through the gRPC API. */
  start: Stats;
  /** Of that: the create RPC alone, and the start RPC alone. */
  create: Stats;
  startRpc: Stats;
  /** `runc run -d` of the same bundle, beside the point's containers. */
  floorStart: Stats;
  /** Per container: its conmon's PSS + its cgroup's memory + the agent's RSS growth shared out. */
  memory: Stats;
  /** Per container: its cgroup's memory alone (what `runc run -d` leaves resident). */
  floorMemory: Stats;
  conmonRssPerContainer: number;
  conmonPssPerContainer: number;
  cgroupPerContainer: number;
  processRssPerContainer: number;
  agentRssGrowth: number;
  /** The host's used memory (MemTotal − MemAvailable) over the baseline, per container: other load on the machine shows in it. */
  hostUsedDeltaPerContainer: number;
  /** The List RPC with all=true. */
  list: Stats;
  /** `berth ps -a`, from the shell. */
  cliPs: Stats;
  /** `runc list` of the agent's runc root. */
  runcList: Stats;
}

export interface ScaleResult {
  rows: Row[];
  points: ScalePoint[];
  /** Points not measured, and why: not enough memory, or a failure while growing. */
  skipped: Array<{ containers: number; reason: string }>;
  /** Failures that ended the benchmark early (also in skipped). */
  failures: string[];
  /** The table of how each figure grows, to print after the rows. */
  summary: string;
}

/** BERTH_BENCH_SCALE: a comma-separated list of container counts, each at least 1; DEFAULT_SCALE_POINTS without it. */
export function scalePoints(text = process.env.BERTH_BENCH_SCALE): number[] {
  if (text === undefined || text.trim() === '') return DEFAULT_SCALE_POINTS;
  const points = text.split(',').map((part) => Number(part.trim()));
  if (points.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`BERTH_BENCH_SCALE="${text}": give container counts, as 1,10,100,500`);
  return [...new Set(points)].sort((a, b) => a - b);
}

/**
 * The runtime at scale, on one host (one image-store and runtime-agent, started as for the other
 * runtime benchmarks): idle `sleep` containers grown to each scale point (created and started over
 * the gRPC API, GROW_CONCURRENCY at a time), and at each point:
 *
 * - start latency of one more container (create + start RPCs; it is force-removed after each
 *   sample), against `runc run -d` of the same bundle at the same point: the floor's container runs
 *   beside the point's containers, in the agent's runc root, so runc and the kernel see the same host
 *   (its mounts, cgroups, processes and runc state); it is deleted after each sample;
 * - memory per container: each container's conmon PSS (shared pages divided among the conmons, as
 *   RSS would count glib and libc once per conmon) + its cgroup's memory (memory.current, or
 *   memory.usage_in_bytes on cgroup v1: its processes and the kernel memory charged to them) + the
 *   agent's RSS growth shared out evenly; one sample per container. The floor: each container's
 *   cgroup memory alone, as `runc run -d` leaves nothing else resident. The host's used memory over
 *   the baseline is reported beside it (it also shows the rest of the machine's load);
 * - `ps` latency: the List RPC with all=true, and `berth ps -a` end to end, against `runc list`.
 *
 * Before each point it checks that the containers to add fit in the host's available memory (as
 * `free -m` shows it: MemAvailable) beside a reserve (1 GiB or a tenth of the memory), at 16 MiB each
 * before the first point and then at twice their measured RSS figures; a point that does not fit is
 * reported as skipped, with the ones above it, instead of run.
 * The containers are removed through the API at the end, or on failure or Ctrl-C; whatever is left
 * then, the services' cleanup removes.
 */
export function benchScale(shared: SharedServices, points = scalePoints()): Promise<ScaleResult> {
  return scoped(async (defer) => {
    const network = testNetworkSettings();
    // The suite's default bridge gets the whole /22 of its block: 1,021 addresses, not a /24's 253.
    const bench = await startRuntimeBench(shared, defer, { ...network, BERTH_NETWORK_BRIDGE_SUBNET: network.BERTH_NETWORK_POOL! });
    const floor = await RuncFloor.prepare(bench);
    floor.bundle(FLOOR_ID, IDLE);
    const ids: string[] = [];
    // Deferred after the services: it runs before they are killed.
    defer(() => removeAll(bench, ids));

    // One container started and removed first: the agent's first-use allocations (its code paths
    // compiled, pools filled) are not any container's, so the baselines come after it.
    const warmUp = await createContainer(bench, IDLE);
    try {
      await startContainer(bench, warmUp);
    } finally {
      await removeContainer(bench, warmUp, true);
    }
    await sleep(SETTLE_MS);
    const agentPid = bench.berth.pid('runtime-agent');
    const agentBaseline = rssBytes(agentPid);
    const hostBaseline = meminfo().used;
    const measured: ScalePoint[] = [];
    const skipped: ScaleResult['skipped'] = [];
    const failures: string[] = [];
    let bytesPerContainer = ASSUMED_BYTES_PER_CONTAINER;
    for (const [index, point] of points.entries()) {
      const fits = memoryCheck(point - ids.length, bytesPerContainer);
      if (fits !== undefined) {
        for (const later of points.slice(index)) skipped.push({ containers: later, reason: later === point ? fits : `not tried: ${point} did not fit` });
        process.stderr.write(`bench scale: ${point} containers skipped: ${fits}\n`);
        break;
      }
      try {
        const [, growSeconds] = await timed(() => grow(bench, ids, point));
        await sleep(SETTLE_MS);
        const result = await measurePoint(bench, floor, ids, { agentPid, agentBaseline, hostBaseline });
        measured.push({ ...result, growSeconds });
        const rssFigure = result.conmonRssPerContainer + result.processRssPerContainer + result.cgroupPerContainer + result.agentRssGrowth / point;
        bytesPerContainer = Math.max(MIN_BYTES_PER_CONTAINER, ESTIMATE_MARGIN * rssFigure);
        process.stderr.write(`bench scale: ${point} containers measured (grown in ${growSeconds.toFixed(1)} s)\n`);
      } catch (err) {
        if (isInterrupted()) throw err;
        const reason = `failed at ${point} containers (${ids.length} created): ${messageOf(err)}`;
        process.stderr.write(`bench scale: ${reason}\n${errorLines(bench.berth.output('runtime-agent'))}`);
        failures.push(reason);
        for (const later of points.slice(index)) skipped.push({ containers: later, reason: later === point ? reason : `not tried: ${point} failed` });
        break;
      }
    }
    return { rows: scaleRows(measured), points: measured, skipped, failures, summary: formatGrowth(measured, skipped) };
  });
}

/** Undefined when `more` containers fit in the available memory, else why not. */
function memoryCheck(more: number, bytesPerContainer: number): string | undefined {
  if (more <= 0) return undefined;
  const { total, available } = meminfo();
  const reserve = Math.max(1024 * MIB, total / 10);
  const needed = more * bytesPerContainer + reserve;
  if (available >= needed) return undefined;
  return (
    `${more} more containers need ~${Math.round((more * bytesPerContainer) / MIB)} MiB ` +
    `(${(bytesPerContainer / MIB).toFixed(1)} MiB each) + a reserve of ${Math.round(reserve / MIB)} MiB; ` +
    `${Math.round(available / MIB)} MiB available`
  );
}

/** Creates and starts containers, GROW_CONCURRENCY at a time, until there are `count`; each id is recorded as soon as it is created. */
async function grow(bench: RuntimeBench, ids: string[], count: number): Promise<void> {
  let wanted = count - ids.length;
  const worker = async () => {
    while (wanted > 0) {
      if (isInterrupted()) throw new Error('interrupted');
      wanted--;
      const id = await createContainer(bench, IDLE);
      ids.push(id);
      await startContainer(bench, id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(GROW_CONCURRENCY, wanted) }, worker));
}

interface Baselines {
  agentPid: number;
  agentBaseline: number;
  hostBaseline: number;
}

async function measurePoint(bench: RuntimeBench, floor: RuncFloor, ids: string[], baselines: Baselines): Promise<Omit<ScalePoint, 'growSeconds'>> {
  const count = ids.length;
  const { stateDir } = bench.berth;

  // Memory first, with exactly the point's containers on the host.
  const hostUsedDelta = meminfo().used - baselines.hostBaseline;
  const agentRssGrowth = rssBytes(baselines.agentPid) - baselines.agentBaseline;
  const conmons = conmonPids(stateDir);
  if (conmons.length !== count) throw new Error(`found ${conmons.length} conmon processes for ${count} containers`);
  const perContainer = await Promise.all(
    ids.map(async (id) => {
      const conmon = Number(readFileSync(containerPaths(stateDir, id).conmonPid, 'utf8').trim());
      const init = (JSON.parse(readFileSync(join(stateDir, 'runc', id, 'state.json'), 'utf8')) as { init_process_pid: number }).init_process_pid;
      return { conmonRss: rssBytes(conmon), conmonPss: pssBytes(conmon), processRss: rssBytes(init), cgroup: await cgroupMemoryBytes(init) };
    }),
  );
  // ps: the List RPC and `runc list` alternating, and `berth ps -a` among them.
  const list: number[] = [];
  const cliPs: number[] = [];
  const runcList: number[] = [];
  for (let run = 0; run < LIST_WARM_UPS + LIST_SAMPLES; run++) {
    const [response, listTime] = await timed(() => bench.call<runtime.ListResponse>((c, m, o, cb) => c.list({ all: true, filters: {} }, m, o, cb)));
    if (response.containers.length !== count) throw new Error(`List answered ${response.containers.length} containers of ${count}`);
    const [lines, runcTime] = await timed(() => floor.list());
    if (lines.length !== count + 1) throw new Error(`runc list showed ${lines.length - 1} containers of ${count}`);
    let cliTime: number | undefined;
    if (run < LIST_WARM_UPS + CLI_SAMPLES) {
      const [ps, seconds] = await timed(() => berth(['ps', '-a'], bench.berth.env));
      if (ps.code !== 0) throw new Error(`berth ps -a exited ${ps.code}: ${ps.stderr}`);
      const shown = ps.stdout.trimEnd().split('\n').length - 1;
      if (shown !== count) throw new Error(`berth ps -a showed ${shown} containers of ${count}`);
      cliTime = seconds;
    }
    if (run < LIST_WARM_UPS) continue;
    list.push(listTime);
    runcList.push(runcTime);
    if (cliTime !== undefined) cliPs.push(cliTime);
  }

  // One more container, and the floor's, alternating; each removed before the next sample.
  const creates: number[] = [];
  const starts: number[] = [];
  const floorStarts: number[] = [];
  for (let run = 0; run < START_WARM_UPS + START_SAMPLES; run++) {
    const [id, create] = await timed(() => createContainer(bench, IDLE));
    let start: number;
    try {
      [, start] = await timed(() => startContainer(bench, id));
    } finally {
      await removeContainer(bench, id, true);
    }
    const [, floorStart] = await timed(() => floor.runDetached(FLOOR_ID));
    await floor.delete(FLOOR_ID);
    if (run < START_WARM_UPS) continue;
    creates.push(create);
    starts.push(start);
    floorStarts.push(floorStart);
  }

  const agentShare = agentRssGrowth / count;
  return {
    containers: count,
    start: summarize(creates.map((create, i) => create + starts[i]!)),
    create: summarize(creates),
    startRpc: summarize(starts),
    floorStart: summarize(floorStarts),
    memory: summarize(perContainer.map((c) => c.conmonPss + c.cgroup + agentShare)),
    floorMemory: summarize(perContainer.map((c) => c.cgroup)),
    conmonRssPerContainer: mean(perContainer.map((c) => c.conmonRss)),
    conmonPssPerContainer: mean(perContainer.map((c) => c.conmonPss)),
    cgroupPerContainer: mean(perContainer.map((c) => c.cgroup)),
    processRssPerContainer: mean(perContainer.map((c) => c.processRss)),
    agentRssGrowth,
    hostUsedDeltaPerContainer: hostUsedDelta / count,
    list: summarize(list),
    cliPs: summarize(cliPs),
    runcList: summarize(runcList),
  };
}

/** Force-removes the containers through the API, REMOVE_CONCURRENCY at a time, within REMOVE_TIMEOUT_MS. */
async function removeAll(bench: RuntimeBench, ids: string[]): Promise<void> {
  const queue = ids.splice(0);
  const failures: string[] = [];
  const worker = async () => {
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
      await removeContainer(bench, id, true).catch((err: unknown) => failures.push(`${id.slice(0, 12)}: ${messageOf(err)}`));
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), REMOVE_TIMEOUT_MS)));
  const ended = await Promise.race([Promise.all(Array.from({ length: REMOVE_CONCURRENCY }, worker)), timeout]);
  clearTimeout(timer);
  // What is left, the services' cleanup removes once the agent is killed (removeContainersOf, removeNetworking).
  if (ended === 'timeout') throw new Error(`removing the scale containers took over ${REMOVE_TIMEOUT_MS / 1000} s: ${queue.length} left to the services' cleanup`);
  if (failures.length > 0) throw new Error(`${failures.length} containers could not be removed: ${failures.slice(0, 3).join('; ')}`);
}

const mib = (bytes: number) => `${(bytes / MIB).toFixed(2)} MiB`;
const ms = (seconds: number) => `${(seconds * 1000).toFixed(0)} ms`;

function scaleRows(points: ScalePoint[]): Row[] {
  const rows: Row[] = [];
  for (const p of points) {
    const n = p.containers;
    rows.push(
      {
        id: `scale-${n}-start`,
        name: `scale ${n}: start one more (gRPC create + start)`,
        unit: 's',
        berth: p.start,
        floor: p.floorStart,
        floorName: `runc run -d, beside the ${n}`,
        detail: `medians: create ${ms(p.create.median)}, start ${ms(p.startRpc.median)}; grown to ${n} in ${p.growSeconds.toFixed(1)} s`,
      },
      {
        id: `scale-${n}-memory`,
        name: `scale ${n}: memory per idle container`,
        unit: 'bytes',
        berth: p.memory,
        floor: p.floorMemory,
        floorName: "the container's cgroup alone",
        detail:
          `conmon PSS + cgroup memory + agent RSS growth / ${n}; means: conmon ${mib(p.conmonPssPerContainer)} PSS (${mib(p.conmonRssPerContainer)} RSS), ` +
          `cgroup ${mib(p.cgroupPerContainer)} (sleep RSS ${mib(p.processRssPerContainer)}), agent +${mib(p.agentRssGrowth / n)} (+${mib(p.agentRssGrowth)} in all); ` +
          `host used memory +${mib(p.hostUsedDeltaPerContainer)} per container (the whole machine's: noisy)`,
      },
      {
        id: `scale-${n}-list`,
        name: `scale ${n}: ps, List RPC (all)`,
        unit: 's',
        berth: p.list,
        floor: p.runcList,
        floorName: 'runc list',
        detail: `${n} containers listed`,
      },
      {
        id: `scale-${n}-cli-ps`,
        name: `scale ${n}: berth ps -a (CLI)`,
        unit: 's',
        berth: p.cliPs,
        floor: p.runcList,
        floorName: 'runc list',
        detail: 'end to end, node starting the CLI included',
      },
    );
  }
  const first = points[0];
  const last = points.at(-1);
  if (first === undefined || last === undefined || first === last) return rows;
  const growth = (id: string, what: string, pick: (p: ScalePoint) => [Stats, Stats], floorName: string): Row => {
    const [berthFirst, floorFirst] = pick(first);
    const [berthLast, floorLast] = pick(last);
    return {
      id: `scale-growth-${id}`,
      name: `scale ${last.containers} vs ${first.containers}: ${what}`,
      unit: 'factor',
      berth: summarize([berthLast.median / berthFirst.median]),
      floor: summarize([floorLast.median / floorFirst.median]),
      floorName: `${floorName}'s growth`,
      detail: `medians: ${quantity(berthFirst.median, unitOf(id))} → ${quantity(berthLast.median, unitOf(id))}`,
    };
  };
  rows.push(
    growth('start', 'start one more', (p) => [p.start, p.floorStart], 'runc run -d'),
    growth('memory', 'memory per container', (p) => [p.memory, p.floorMemory], 'cgroup'),
    growth('list', 'List RPC', (p) => [p.list, p.runcList], 'runc list'),
    growth('cli-ps', 'berth ps -a', (p) => [p.cliPs, p.runcList], 'runc list'),
  );
  return rows;
}

function unitOf(id: string): Row['unit'] {
  return id === 'memory' ? 'bytes' : 's';
}

/** Each figure's median at each point, and the last point's over the first's. */
function formatGrowth(points: ScalePoint[], skipped: ScaleResult['skipped']): string {
  if (points.length === 0) return skipped.map((s) => `scale ${s.containers}: ${s.reason}\n`).join('');
  const figures: Array<[string, (p: ScalePoint) => number, Row['unit']]> = [
    ['start one more (gRPC)', (p) => p.start.median, 's'],
    ['  runc run -d', (p) => p.floorStart.median, 's'],
    ['memory per container', (p) => p.memory.median, 'bytes'],
    ["  container's cgroup", (p) => p.floorMemory.median, 'bytes'],
    ['  host used, per container (noisy)', (p) => p.hostUsedDeltaPerContainer, 'bytes'],
    ['List RPC (all)', (p) => p.list.median, 's'],
    ['berth ps -a (CLI)', (p) => p.cliPs.median, 's'],
    ['  runc list', (p) => p.runcList.median, 's'],
  ];
  const first = points[0]!;
  const last = points.at(-1)!;
  const header = ['containers (medians)', ...points.map((p) => String(p.containers)), ...(points.length > 1 ? [`${last.containers} vs ${first.containers}`] : [])];
  const lines = figures.map(([what, pick, unit]) => [
    what,
    ...points.map((p) => quantity(pick(p), unit)),
    ...(points.length > 1 ? [pick(first) > 0 && pick(last) > 0 ? `${(pick(last) / pick(first)).toFixed(2)}×` : '-'] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const table = [header, ...lines].map((line) => `${line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`).join('');
  return `\nHow each grows with the containers on one host:\n${table}${skipped.map((s) => `scale ${s.containers}: ${s.reason}\n`).join('')}`;
}
