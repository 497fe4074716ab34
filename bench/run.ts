/**
 * Berth's benchmarks, each against its floor measured in the same run on the same machine; prints a
 * table of times and ratios. `npm run bench` (after set-up). Goals (README): a pull at least as fast
 * as skopeo's.
 */
import { benchPull } from './pull';

interface Row {
  name: string;
  berth: number;
  floor: number;
  floorName: string;
  detail: string;
}

async function main(): Promise<void> {
  const rows: Row[] = [await benchPull()];
  const header = ['benchmark', 'berth', 'floor', 'ratio', 'detail'];
  const lines = rows.map((r) => [r.name, `${r.berth.toFixed(3)} s`, `${r.floor.toFixed(3)} s (${r.floorName})`, (r.berth / r.floor).toFixed(2), r.detail]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  for (const line of [header, ...lines]) process.stdout.write(`${line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
