/** Docker's --filter values shared by every service: labels and times. */
import { invalidArgument } from '../errors';

/** A label filter, "key" (the label is set) or "key=value". */
export function matchesLabel(labels: Record<string, string>, filter: string): boolean {
  const equals = filter.indexOf('=');
  return equals === -1 ? filter in labels : labels[filter.slice(0, equals)] === filter.slice(equals + 1);
}

/** Refuses filter keys that the listing does not know, rather than ignore them (as Docker does). */
export function checkFilterKeys(filters: Record<string, unknown>, known: string[]): void {
  for (const key of Object.keys(filters)) {
    if (!known.includes(key)) throw invalidArgument(`invalid filter "${key}": use ${known.join(', ')}`);
  }
}

/** An until (or since) filter: "24h", "90m", "30s" before now, or a timestamp (RFC 3339 or Unix seconds). */
export function untilTime(text: string, name = 'until'): Date {
  const duration = /^(\d+)(s|m|h)$/.exec(text);
  if (duration !== null) return new Date(Date.now() - Number(duration[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[duration[2] as 's' | 'm' | 'h']);
  if (/^\d+$/.test(text)) return new Date(Number(text) * 1000);
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) throw invalidArgument(`invalid ${name} "${text}": a duration (24h) or a timestamp`);
  return time;
}

/** The API's filter map ({ key: { values } }) as plain lists. */
export function filterLists(filters: Record<string, { values: string[] }>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(filters).map(([key, value]) => [key, value.values]));
}
