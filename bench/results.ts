import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { repoRoot } from '../test/support';
import type { ScalePoint, ScaleResult } from './runtime/scale';
import type { Stats } from './stats';
import { p99Ratio, ratio, type Row } from './table';

/** The machine a run measured: its figures compare only with runs on the same. */
export interface Machine {
  hostname: string;
  cpuModel: string;
  cpuCount: number;
  totalMemoryBytes: number;
  /** `uname -r`. */
  kernel: string;
  node: string;
  /** `runc --version` and `conmon --version`, their lines joined; null where the program is missing. */
  runc: string | null;
  conmon: string | null;
  /** The 1, 5 and 15 minute load averages when the run started and ended: other work skews the figures. */
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
}

export function describeMachine(): Machine {
  const cpu = cpus();
  return {
    hostname: hostname(),
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cpuCount: cpu.length,
    totalMemoryBytes: totalmem(),
    kernel: release(),
    node: process.version,
    runc: versionOf('runc'),
    conmon: versionOf('conmon'),
    loadAverageAtStart: loadavg(),
  };
}

function versionOf(program: string): string | null {
  try {
    const output = execFileSync(program, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    return output.trim().split('\n').map((line) => line.trim()).join('; ');
  } catch {
    return null;
  }
}

/** Where the JSON goes: BERTH_BENCH_JSON (relative to the working directory), else bench/results.json in the repository. */
export function resultsPath(): string {
  const path = process.env.BERTH_BENCH_JSON;
  return path === undefined || path === '' ? join(repoRoot(), 'bench', 'results.json') : resolve(path);
}

export interface RunRecord {
  machine: Machine;
  startedAt: Date;
  finishedAt: Date;
  /** The filter argument: '' when every benchmark ran. */
  filter: string;
  /** Each benchmark's own time, in seconds, set-up and cleanup included. */
  parts: Array<{ id: string; seconds: number; failed?: string }>;
  rows: Row[];
  scale?: ScaleResult;
}

/** Writes the run as JSON to path (its directory made if need be). */
export function writeResults(path: string, run: RunRecord): void {
  const json = {
    machine: { ...run.machine, loadAverageAtEnd: loadavg() },
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    seconds: (run.finishedAt.getTime() - run.startedAt.getTime()) / 1000,
    filter: run.filter,
    scalePoints: process.env.BERTH_BENCH_SCALE ?? null,
    parts: run.parts,
    rows: run.rows.map(rowJson),
    scale:
      run.scale === undefined
        ? null
        : { points: run.scale.points.map(pointJson), skipped: run.scale.skipped, failures: run.scale.failures },
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`);
}

/** Seconds as they are; bytes as they are; a factor as it is. Stats with their unit beside them. */
function rowJson(row: Row) {
  const ratioP99 = p99Ratio(row);
  return {
    id: row.id,
    what: row.name,
    unit: row.unit,
    berth: stats(row.berth),
    floor: { name: row.floorName, ...stats(row.floor) },
    ratio: round(ratio(row)),
    ratioP99: ratioP99 === undefined ? null : round(ratioP99),
    goal: row.goal?.text ?? null,
    met: row.goal?.met ?? null,
    detail: row.detail,
  };
}

function pointJson(point: ScalePoint) {
  return Object.fromEntries(Object.entries(point).map(([key, value]) => [key, typeof value === 'number' ? round(value) : stats(value)]));
}

function stats(s: Stats) {
  return { n: s.n, median: round(s.median), p99: round(s.p99), min: round(s.min), max: round(s.max), mean: round(s.mean) };
}

/** Six significant digits: enough for microseconds and bytes, without float noise. */
function round(value: number): number {
  return Number(value.toPrecision(6));
}
