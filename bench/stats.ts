/** The middle of the samples (the upper one of an even count). */
export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile: with 50 samples, p99 is the slowest. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** What a row shows of its samples: their count, median and 99th percentile (nearest rank), and the rest for the JSON. */
export interface Stats {
  /** How many samples; 0 for a fixed figure (a goal standing in for a floor). */
  n: number;
  median: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

export function mean(values: number[]): number {
  return values.reduce((total, value) => total + value, 0) / values.length;
}

/** The statistics of one or more samples. */
export function summarize(values: number[]): Stats {
  if (values.length === 0) throw new Error('no samples to summarize');
  return {
    n: values.length,
    median: median(values),
    p99: percentile(values, 99),
    min: Math.min(...values),
    max: Math.max(...values),
    mean: mean(values),
  };
}

/** A fixed figure, not measured: a goal compared against as if it were a floor. */
export function fixed(value: number): Stats {
  return { n: 0, median: value, p99: value, min: value, max: value, mean: value };
}

/** Seconds since a process.hrtime.bigint() reading. */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs fn and gives its result with the seconds it took. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const result = await fn();
  return [result, secondsSince(start)];
}
