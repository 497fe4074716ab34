import { berth, runCommand } from '../../test/support';
import { median, summarize, timed } from '../stats';
import type { Row } from '../table';
import type { RuncFloor } from './floor';
import { IMAGE, type RuntimeBench } from './suite';

const WARM_UPS = 1;
const RUNS = 20;
const FLOOR_ID = 'bench-floor-cli-run';
/** The project's goal for `berth run --rm busybox true`, end to end. */
const TARGET_SECONDS = 0.125;

/**
 * `berth run --rm IMAGE true` as a user types it (node starting the CLI, create, attach, start, the
 * exit, the removal) against `runc run`; with node's own start-up for scale.
 */
export async function benchCliRun(bench: RuntimeBench, floor: RuncFloor): Promise<Row> {
  floor.bundle(FLOOR_ID, ['true']);
  const berthTimes: number[] = [];
  const floorTimes: number[] = [];
  const nodeTimes: number[] = [];
  for (let run = 0; run < WARM_UPS + RUNS; run++) {
    const [result, berthTime] = await timed(() => berth(['run', '--rm', IMAGE, 'true'], bench.berth.env));
    if (result.code !== 0) throw new Error(`berth run exited ${result.code}: ${result.stderr}`);
    const [, floorTime] = await timed(() => floor.run(FLOOR_ID));
    const [, nodeTime] = await timed(() => runCommand(process.execPath, ['-e', ''], process.env));
    if (run < WARM_UPS) continue;
    berthTimes.push(berthTime);
    floorTimes.push(floorTime);
    nodeTimes.push(nodeTime);
  }
  const berthStats = summarize(berthTimes);
  return {
    id: 'runtime-cli-run',
    name: `berth run --rm ${IMAGE} true (CLI)`,
    unit: 's',
    berth: berthStats,
    floor: summarize(floorTimes),
    floorName: 'runc run',
    goal: { text: `median ≤ ${TARGET_SECONDS * 1000} ms`, met: berthStats.median <= TARGET_SECONDS },
    detail: `\`node -e ''\` alone ${(median(nodeTimes) * 1000).toFixed(0)} ms (median)`,
  };
}
