import type { Stats } from './stats';

/** A goal of the project's for a row, and whether this run met it. */
export interface Goal {
  /** What the goal asks, as the table shows it: "ratio ≤ 2", "median ≤ 125 ms", "p99 < 20 ms". */
  text: string;
  met: boolean;
}

/** One benchmark's result: Berth's samples against its floor's, measured in the same run. */
export interface Row {
  /** Stable and unique in a run: what the JSON keys on. */
  id: string;
  /** What was measured. */
  name: string;
  /** What the samples count: seconds, bytes (printed in MiB), or a factor (a growth, printed as N×). */
  unit: 's' | 'bytes' | 'factor';
  berth: Stats;
  floor: Stats;
  floorName: string;
  goal?: Goal;
  detail: string;
}

/** Berth against its floor: medians. */
export function ratio(row: Pick<Row, 'berth' | 'floor'>): number {
  return row.berth.median / row.floor.median;
}

/** Berth against its floor at the 99th percentile, where both have several samples. */
export function p99Ratio(row: Row): number | undefined {
  return row.berth.n > 1 && row.floor.n > 1 ? row.berth.p99 / row.floor.p99 : undefined;
}

/** A goal on the ratio of medians: Berth within `most` times its floor. */
export function ratioGoal(row: Omit<Row, 'goal'>, most: number): Goal {
  return { text: `ratio ≤ ${most}`, met: ratio(row) <= most };
}

export function quantity(value: number, unit: Row['unit']): string {
  if (unit === 'bytes') return `${(value / 1024 / 1024).toFixed(2)} MiB`;
  if (unit === 'factor') return `${value.toFixed(2)}×`;
  return value < 1 ? `${(value * 1000).toFixed(1)} ms` : `${value.toFixed(3)} s`;
}

/** A statistic that means something only over several samples: a dash for one, or for a fixed figure. */
function several(stats: Stats, value: number, unit: Row['unit']): string {
  return stats.n > 1 ? quantity(value, unit) : '-';
}

/**
 * The rows as an aligned table: benchmark, sample count (Berth's/the floor's), Berth's median and
 * p99, the floor's median and p99 and what it is, the ratios of medians and of p99s, the goal and
 * whether it was met, and details.
 */
export function formatTable(rows: Row[]): string {
  const header = ['benchmark', 'n', 'berth median', 'berth p99', 'floor median', 'floor p99', 'floor', 'ratio', 'p99 ratio', 'goal', 'detail'];
  const lines = rows.map((r) => {
    const p99 = p99Ratio(r);
    return [
      r.name,
      `${r.berth.n}/${r.floor.n === 0 ? '-' : r.floor.n}`,
      quantity(r.berth.median, r.unit),
      several(r.berth, r.berth.p99, r.unit),
      quantity(r.floor.median, r.unit),
      several(r.floor, r.floor.p99, r.unit),
      r.floorName,
      ratio(r).toFixed(2),
      p99 === undefined ? '-' : p99.toFixed(2),
      r.goal === undefined ? '' : `${r.goal.text} (${r.goal.met ? 'met' : 'missed'})`,
      r.detail,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((line) => `${line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`).join('');
}
