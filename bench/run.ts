/**
 * Berth's benchmarks, each against its floor measured in the same run on the same machine; prints a
 * table of times and ratios. `npm run bench` (after set-up); `node dist/bench/run.js runtime` runs
 * the benchmarks whose id contains "runtime". Goals: a pull at least as fast as skopeo's;
 * a container run to its exit within 2× of runc's; `berth run --rm` within 0.125 s; a cold build
 * within 1.5× of its RUN commands run by runc; a fully cached rebuild under 150 ms of builder time; an
 * event from its change's commit to a subscriber within 20 ms at the 99th percentile.
 */
import { startSharedServices } from '../test/support/shared';
import { benchBuilder } from './builder';
import { benchEvents } from './events';
import { benchPull } from './pull';
import { RUNTIME_BENCHMARKS, runRuntimeBenchmarks } from './runtime';
import { cleanUpOnSignals, exitAfterCleanup, scoped } from './scope';
import { formatTable, type Row } from './table';

async function main(filter = ''): Promise<void> {
  cleanUpOnSignals();
  const runtimeBenchmarks = RUNTIME_BENCHMARKS.filter((b) => b.id.includes(filter));
  const runPull = 'pull'.includes(filter);
  const runBuilder = 'builder'.includes(filter);
  const runEvents = 'events'.includes(filter);
  if (!runPull && runtimeBenchmarks.length === 0 && !runBuilder && !runEvents) {
    throw new Error(`no benchmark's id contains "${filter}": pull, ${RUNTIME_BENCHMARKS.map((b) => b.id).join(', ')}, builder, events`);
  }
  const rows = await scoped(async (defer) => {
    const shared = await startSharedServices();
    defer(() => shared.stop());
    const done: Row[] = [];
    if (runPull) done.push(await benchPull(shared));
    if (runtimeBenchmarks.length > 0) done.push(...(await runRuntimeBenchmarks(shared, runtimeBenchmarks)));
    if (runBuilder) done.push(...(await benchBuilder(shared)));
    if (runEvents) done.push(...(await benchEvents(shared)));
    return done;
  });
  process.stdout.write(formatTable(rows));
}

main(process.argv[2]).then(
  () => exitAfterCleanup(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    return exitAfterCleanup(1);
  },
);
