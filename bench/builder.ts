import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { berth } from '../test/support';
import type { SharedServices } from '../test/support/shared';
import { RuncFloor } from './runtime/floor';
import { IMAGE, importBusybox } from './runtime/suite';
import { scoped } from './scope';
import { startBerth, type BenchBerth } from './services';
import { fixed, median, summarize, timed } from './stats';
import { ratioGoal, type Row } from './table';

const WARM_UPS = 1;
const COLD_RUNS = 3;
const CACHED_RUNS = 10;
/** The project's goals: a cold build within 1.5× of its RUN steps run by runc alone, a fully cached rebuild under 150 ms. */
const COLD_GOAL_RATIO = 1.5;
const CACHED_GOAL_SECONDS = 0.15;
/** The context's source files: 300 of 10 KB in 10 directories, 3 MB. */
const DIRS = 10;
const FILES_PER_DIR = 30;
const FILE_BYTES = 10 * 1024;

/**
 * The RUN steps of each stage, written so that they do the same work in the build's WORKDIR and in
 * the floor's temporary directory: a wait, 8 MB of random bytes, a loop in sh, and in the second
 * stage a gzipped tar of everything the first made and copied (~11 MB).
 */
const COMPILE_RUNS = ['sleep 0.3', 'dd if=/dev/urandom of=blob bs=1M count=8 2>/dev/null', 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo $i > count'];
const FINAL_RUNS = ['tar -cf - src blob count | gzip -c > bundle.tar.gz'];
const RUNS = [...COMPILE_RUNS, ...FINAL_RUNS];

const DOCKERFILE = [
  `FROM ${IMAGE} AS compile`,
  'WORKDIR /work',
  'COPY src/ src/',
  ...COMPILE_RUNS.map((command) => `RUN ${command}`),
  `FROM ${IMAGE}`,
  'WORKDIR /app',
  'COPY --from=compile /work/ ./',
  ...FINAL_RUNS.map((command) => `RUN ${command}`),
  '',
].join('\n');
const COPIES = DOCKERFILE.split('\n').filter((line) => line.startsWith('COPY ')).length;
/** The steps a fully cached rebuild takes from the cache: all but the FROMs. */
const CACHEABLE_STEPS = DOCKERFILE.split('\n').filter((line) => line !== '' && !line.startsWith('FROM ')).length;

const BUILT = /built in ([\d.]+)s of builder time, (\d+) steps from the cache/;

interface Build {
  /** The builder's own time for the whole build, from its last line. */
  server: number;
  /** The CLI's, from its start to its exit. */
  wall: number;
  cachedSteps: number;
}

/**
 * A multi-stage Dockerfile (3 RUN and a COPY of 300 files in the first stage, a COPY --from and a RUN
 * in the second) built cold (--no-cache) against the sum of its RUN commands each started directly
 * with runc, and rebuilt from the cache against the 150 ms goal; both in the builder's own time.
 */
export function benchBuilder(shared: SharedServices): Promise<Row[]> {
  return scoped(async (defer) => {
    const suite = await startBerth(shared, ['image-store', 'runtime-agent', 'builder'], defer);
    await importBusybox(suite);
    const context = writeContext(suite.workDir);

    const cold: Build[] = [];
    const floorTimes: number[] = [];
    // Alternating, so that load from elsewhere on the machine weighs on both alike.
    for (let run = 0; run < WARM_UPS + COLD_RUNS; run++) {
      const built = await build(suite, ['--no-cache', context]);
      if (built.cachedSteps !== 0) throw new Error(`a --no-cache build took ${built.cachedSteps} steps from the cache`);
      const floorTime = await runStepsWithRunc(suite, context);
      if (run < WARM_UPS) continue;
      cold.push(built);
      floorTimes.push(floorTime);
    }

    const cached: Build[] = [];
    // The warm-up fills the cache (whether or not the --no-cache builds did); then every step comes from it.
    for (let run = 0; run < WARM_UPS + CACHED_RUNS; run++) {
      const built = await build(suite, [context]);
      if (run < WARM_UPS) continue;
      if (built.cachedSteps !== CACHEABLE_STEPS) throw new Error(`a rebuild took ${built.cachedSteps} of its ${CACHEABLE_STEPS} steps from the cache`);
      cached.push(built);
    }

    const coldRow: Row = {
      id: 'builder-cold',
      name: `build, cold (multi-stage, ${RUNS.length} RUN + ${COPIES} COPY)`,
      unit: 's',
      berth: summarize(cold.map((b) => b.server)),
      floor: summarize(floorTimes),
      floorName: 'its RUN commands in runc',
      detail:
        `builder time of --no-cache; CLI wall ${median(cold.map((b) => b.wall)).toFixed(3)} s (median); ` +
        `floor: each RUN's command started directly with \`runc run\` in one root filesystem, timed, summed`,
    };
    const cachedServer = summarize(cached.map((b) => b.server));
    return [
      { ...coldRow, goal: ratioGoal(coldRow, COLD_GOAL_RATIO) },
      {
        id: 'builder-cached',
        name: 'build, fully cached rebuild',
        unit: 's',
        berth: cachedServer,
        floor: fixed(CACHED_GOAL_SECONDS),
        floorName: 'the goal (no floor)',
        goal: { text: `median < ${CACHED_GOAL_SECONDS * 1000} ms`, met: cachedServer.median < CACHED_GOAL_SECONDS },
        detail:
          `builder time, all ${CACHEABLE_STEPS} steps but the FROMs from the cache; ` +
          `CLI wall ${median(cached.map((b) => b.wall)).toFixed(3)} s (median)`,
      },
    ];
  });
}

/** The context directory: the Dockerfile and src/ with its files of random text. */
function writeContext(workDir: string): string {
  const dir = join(workDir, 'context');
  for (let d = 0; d < DIRS; d++) {
    mkdirSync(join(dir, 'src', `dir-${d}`), { recursive: true });
    for (let f = 0; f < FILES_PER_DIR; f++) writeFileSync(join(dir, 'src', `dir-${d}`, `file-${f}.txt`), randomBytes((FILE_BYTES * 3) / 4).toString('base64'));
  }
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
  return dir;
}

/** `berth build ARGS`: its builder time and step count from the last line, and its wall time. */
async function build(suite: BenchBerth, args: string[]): Promise<Build> {
  const [result, wall] = await timed(() => berth(['build', ...args], suite.env, 300_000));
  if (result.code !== 0) throw new Error(`berth build ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  const line = BUILT.exec(result.stderr);
  if (line === null) throw new Error(`berth build printed no "built in" line: ${result.stderr}`);
  return { server: Number(line[1]), wall, cachedSteps: Number(line[2]) };
}

const execFileAsync = promisify(execFile);

/**
 * The floor: every RUN's command started directly with `runc run` (Docker's defaults, as the agent
 * writes them) in one root filesystem that holds what the build's WORKDIR holds (busybox, src/, then
 * what the earlier steps made), each timed; their sum.
 */
async function runStepsWithRunc(suite: BenchBerth, context: string): Promise<number> {
  const dir = mkdtempSync(join(suite.stateDir, 'build-floor-'));
  try {
    const rootfs = join(dir, 'rootfs');
    mkdirSync(join(rootfs, 'work'), { recursive: true });
    await execFileAsync('tar', ['-xf', join(suite.workDir, 'busybox.tar'), '-C', rootfs]);
    cpSync(join(context, 'src'), join(rootfs, 'work', 'src'), { recursive: true });
    const floor = RuncFloor.onDirectory(suite.stateDir, rootfs);
    let total = 0;
    for (const command of RUNS) {
      const id = `build-floor-${randomBytes(6).toString('hex')}`;
      floor.bundle(id, ['/bin/sh', '-c', command], '/work');
      total += (await timed(() => floor.run(id)))[1];
    }
    return total;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
