import type { SharedServices } from '../../test/support/shared';
import { scoped } from '../scope';
import type { Row } from '../table';
import { benchCliRun } from './cli-run';
import { RuncFloor } from './floor';
import { benchIdleMemory } from './idle-memory';
import { benchRunToExit } from './run-to-exit';
import { benchStartMany } from './start-many';
import { errorLines, startRuntimeBench, type RuntimeBench } from './suite';

export interface RuntimeBenchmark {
  /** What the run's filter argument matches. */
  id: string;
  run(bench: RuntimeBench, floor: RuncFloor): Promise<Row>;
}

export const RUNTIME_BENCHMARKS: RuntimeBenchmark[] = [
  { id: 'runtime-run-to-exit', run: benchRunToExit },
  { id: 'runtime-start-50', run: benchStartMany },
  { id: 'runtime-idle-memory', run: benchIdleMemory },
  { id: 'runtime-cli-run', run: benchCliRun },
];

/** The given runtime benchmarks, in order, on one image-store and runtime-agent started for them. */
export function runRuntimeBenchmarks(shared: SharedServices, benchmarks: RuntimeBenchmark[]): Promise<Row[]> {
  return scoped(async (defer) => {
    const bench = await startRuntimeBench(shared, defer);
    const floor = await RuncFloor.prepare(bench);
    const rows: Row[] = [];
    try {
      for (const benchmark of benchmarks) rows.push(await benchmark.run(bench, floor));
    } catch (err) {
      // An internal error's client sees only a trace id: the services' logs say what happened.
      for (const service of ['image-store', 'runtime-agent']) process.stderr.write(errorLines(bench.berth.output(service)));
      throw err;
    }
    return rows;
  });
}
