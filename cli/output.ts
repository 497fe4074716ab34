import { invalidArgument } from '../libs/errors';

/** Columns padded to their widest cell, as `docker ps` prints them. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('   ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** 3d4h, 5m12s, 40s: how long something has run. */
export function humanDuration(seconds: number): string {
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
  const seconds = Math.max(0, (now - date.getTime()) / 1000);
  const phrase = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  let text: string;
  if (seconds < 1) text = 'Less than a second';
  else if (seconds < 60) text = phrase(Math.floor(seconds), 'second');
  else if (seconds < 3600) text = Math.floor(seconds / 60) === 1 ? 'About a minute' : phrase(Math.floor(seconds / 60), 'minute');
  else if (seconds < 86_400) text = Math.round(seconds / 3600) === 1 ? 'About an hour' : phrase(Math.round(seconds / 3600), 'hour');
  else if (seconds < 86_400 * 14) text = phrase(Math.floor(seconds / 86_400), 'day');
  else if (seconds < 86_400 * 60) text = phrase(Math.floor(seconds / (86_400 * 7)), 'week');
  else if (seconds < 86_400 * 365 * 2) text = phrase(Math.floor(seconds / (86_400 * 30)), 'month');
  else text = phrase(Math.floor(seconds / (86_400 * 365)), 'year');
  return `${text} ago`;
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
