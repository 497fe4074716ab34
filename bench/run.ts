/**
 * Berth's benchmarks, each against its floor measured in the same run on the same machine; prints a
 * table of medians, 99th percentiles and ratios, and writes it as JSON with the machine it ran on
 * (bench/results.json, or the path in BERTH_BENCH_JSON). `npm run bench` (after set-up) runs them
 * all; `node dist/bench/run.js runtime` runs the benchmarks whose id contains "runtime", and
 * `node dist/bench/run.js scale` the scale one (its points in BERTH_BENCH_SCALE, 1,10,100,500 by
 * default). Goals: a pull at least as fast as skopeo's; a container run to its exit within 2× of
 * runc's; `berth run --rm` within 0.125 s; a cold build within 1.5× of its RUN commands run by runc;
 * a fully cached rebuild under 150 ms of builder time; an event from its change's commit to a
 * subscriber within 20 ms at the 99th percentile.
 *
 * A benchmark that fails does not stop the others: the run reports it, writes what it measured and
 * exits 1.
 */
import { messageOf } from '../libs/errors';
import { startSharedServices } from '../test/support/shared';
import { benchBuilder } from './builder';
import { benchEvents } from './events';
import { benchPull } from './pull';
import { describeMachine, resultsPath, writeResults, type RunRecord } from './results';
import { RUNTIME_BENCHMARKS, runRuntimeBenchmarks } from './runtime';
import { benchScale, scalePoints, type ScaleResult } from './runtime/scale';
import { cleanUpOnSignals, exitAfterCleanup, isInterrupted, scoped } from './scope';
import { secondsSince } from './stats';
import { formatTable, type Row } from './table';

async function main(filter = ''): Promise<number> {
  cleanUpOnSignals();
  const runtimeBenchmarks = RUNTIME_BENCHMARKS.filter((b) => b.id.includes(filter));
  const runPull = 'pull'.includes(filter);
  const runBuilder = 'builder'.includes(filter);
  const runEvents = 'events'.includes(filter);
  const runScale = 'scale'.includes(filter);
  if (!runPull && runtimeBenchmarks.length === 0 && !runBuilder && !runEvents && !runScale) {
    throw new Error(`no benchmark's id contains "${filter}": pull, ${RUNTIME_BENCHMARKS.map((b) => b.id).join(', ')}, builder, events, scale`);
  }
  // Checked before anything starts: a mistyped list must not cost a run.
  if (runScale) scalePoints();
  const machine = describeMachine();
  const startedAt = new Date();
  const parts: RunRecord['parts'] = [];
  let scale: ScaleResult | undefined;
  const rows = await scoped(async (defer) => {
    const shared = await startSharedServices();
    defer(() => shared.stop());
    const done: Row[] = [];
    /** Runs one benchmark, timed; a failure is reported and the run goes on to the next. */
    const part = async (id: string, bench: () => Promise<Row | Row[]>) => {
      const start = process.hrtime.bigint();
      try {
        const result = await bench();
        parts.push({ id, seconds: secondsSince(start) });
        done.push(...(Array.isArray(result) ? result : [result]));
      } catch (err) {
        if (isInterrupted()) throw err;
        process.stderr.write(`bench ${id} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
        parts.push({ id, seconds: secondsSince(start), failed: messageOf(err) });
      }
    };
    if (runPull) await part('pull', () => benchPull(shared));
    if (runtimeBenchmarks.length > 0) await part('runtime', () => runRuntimeBenchmarks(shared, runtimeBenchmarks));
    if (runBuilder) await part('builder', () => benchBuilder(shared));
    if (runEvents) await part('events', () => benchEvents(shared));
    if (runScale) {
      await part('scale', async () => {
        scale = await benchScale(shared);
        return scale.rows;
      });
    }
    return done;
  });
  process.stdout.write(formatTable(rows));
  if (scale !== undefined) process.stdout.write(scale.summary);
  // A scale point that failed ends the scale benchmark early, with the points before it measured.
  const scalePart = parts.find((p) => p.id === 'scale');
  if (scalePart !== undefined && scale !== undefined && scale.failures.length > 0) scalePart.failed = scale.failures.join('; ');
  const path = resultsPath();
  writeResults(path, { machine, startedAt, finishedAt: new Date(), filter, parts, rows, scale });
  const seconds = parts.map((p) => `${p.id} ${p.seconds.toFixed(0)} s${p.failed === undefined ? '' : ' (FAILED)'}`).join(', ');
  process.stdout.write(`\n${seconds}; written to ${path}\n`);
  return parts.some((p) => p.failed !== undefined) ? 1 : 0;
}

main(process.argv[2]).then(
  (code) => exitAfterCleanup(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    return exitAfterCleanup(1);
  },
);
