import { median, summarize, timed } from '../stats';
import { ratioGoal, type Row } from '../table';
import { createContainer, removeContainer, startContainer, waitContainer } from './containers';
import type { RuncFloor } from './floor';
import type { RuntimeBench } from './suite';

const WARM_UPS = 3;
const RUNS = 50;
const FLOOR_ID = 'bench-floor-run-to-exit';

/** The four RPCs of one container's life, in seconds each. */
interface Phases {
  create: number;
  start: number;
  wait: number;
  remove: number;
}

/**
 * A container running `true`, from create to removed, through the agent's gRPC API (create, start,
 * wait, remove) against `runc run` of the same bundle; the runs alternate, so that load from
 * elsewhere on the machine weighs on both alike.
 */
export async function benchRunToExit(bench: RuntimeBench, floor: RuncFloor): Promise<Row> {
  floor.bundle(FLOOR_ID, ['true']);
  const phases: Phases[] = [];
  const floorTimes: number[] = [];
  for (let run = 0; run < WARM_UPS + RUNS; run++) {
    const measured = await runToExit(bench);
    const [, floorTime] = await timed(() => floor.run(FLOOR_ID));
    if (run < WARM_UPS) continue;
    phases.push(measured);
    floorTimes.push(floorTime);
  }
  const totals = phases.map((p) => p.create + p.start + p.wait + p.remove);
  const ms = (phase: keyof Phases) => `${phase} ${(median(phases.map((p) => p[phase])) * 1000).toFixed(0)}`;
  const row: Row = {
    id: 'runtime-run-to-exit',
    name: 'run `true` to exit (gRPC)',
    unit: 's',
    berth: summarize(totals),
    floor: summarize(floorTimes),
    floorName: 'runc run',
    detail: `medians in ms: ${(['create', 'start', 'wait', 'remove'] as const).map(ms).join(', ')}`,
  };
  // The goal: a container run to its exit within 2× of runc's.
  return { ...row, goal: ratioGoal(row, 2) };
}

async function runToExit(bench: RuntimeBench): Promise<Phases> {
  const [id, create] = await timed(() => createContainer(bench, ['true']));
  const [, start] = await timed(() => startContainer(bench, id));
  const [exitCode, wait] = await timed(() => waitContainer(bench, id));
  if (exitCode !== 0) throw new Error(`true exited ${exitCode} in container ${id}`);
  const [, remove] = await timed(() => removeContainer(bench, id));
  return { create, start, wait, remove };
}
