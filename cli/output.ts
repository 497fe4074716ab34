import { invalidArgument } from '../libs/errors';
import { humanDuration } from '../libs/humanize';
import { renderTemplate } from './template';

/** Columns padded to their widest cell, as `docker ps` prints them. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('   ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** 3d4h, 5m12s, 40s: how long something has run. */
export function compactDuration(seconds: number): string {
  const units: Array<[string, number]> = [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]];
  const parts: string[] = [];
  let rest = Math.floor(seconds);
  for (const [unit, size] of units) {
    if (rest >= size || (unit === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join('');
}

/** "3 weeks ago", "About an hour ago": how long ago, as Docker says it. */
export function timeAgo(date: Date | undefined, now = Date.now()): string {
  if (date === undefined) return 'N/A';
  return `${humanDuration(Math.max(0, (now - date.getTime()) / 1000))} ago`;
}

/** "sha256:0123456789abcdef..." → "0123456789ab", as Docker shows image ids. */
export function shortImageId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** Repeated --filter key=value flags as the API's map. */
export function parseFilters(values: string[] | undefined): Record<string, { values: string[] }> {
  const filters: Record<string, { values: string[] }> = {};
  for (const value of values ?? []) {
    const equals = value.indexOf('=');
    if (equals <= 0) throw invalidArgument(`bad filter "${value}": expected key=value`);
    const key = value.slice(0, equals);
    (filters[key] ??= { values: [] }).values.push(value.slice(equals + 1));
  }
  return filters;
}

/** What `inspect` commands print: each item through a -f template, else one JSON array as Docker indents it. */
export function printInspected(items: unknown[], format: string | undefined): void {
  if (format !== undefined) process.stdout.write(items.map((item) => `${renderTemplate(format, item)}\n`).join(''));
  else process.stdout.write(`${JSON.stringify(items, null, 4)}\n`);
}
