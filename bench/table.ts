/** One benchmark's result: Berth's figure against its floor, measured in the same run. */
export interface Row {
  name: string;
  berth: number;
  floor: number;
  floorName: string;
  /** What berth and floor count: seconds, or bytes (printed in MiB). */
  unit: 's' | 'bytes';
  detail: string;
}

function quantity(value: number, unit: Row['unit']): string {
  return unit === 's' ? `${value.toFixed(3)} s` : `${(value / 1024 / 1024).toFixed(2)} MiB`;
}

/** The rows as an aligned table: benchmark, berth, floor, ratio, detail. */
export function formatTable(rows: Row[]): string {
  const header = ['benchmark', 'berth', 'floor', 'ratio', 'detail'];
  const lines = rows.map((r) => [r.name, quantity(r.berth, r.unit), `${quantity(r.floor, r.unit)} (${r.floorName})`, (r.berth / r.floor).toFixed(2), r.detail]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((line) => `${line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`).join('');
}
