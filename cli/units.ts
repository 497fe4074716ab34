import { invalidArgument } from '../libs/errors';

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "512m", "1g", "100k", "1048576": bytes, as Docker's --memory takes them. */
export function parseBytes(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(text.trim());
  if (match === null) throw invalidArgument(`invalid ${flag} "${text}": a size like 512m or 1g`);
  return Math.round(Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** "30s", "1m30s", "500ms": milliseconds, as Go's time.ParseDuration reads the usual cases. */
export function parseDurationMs(text: string, flag: string): number {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text.trim()) throw invalidArgument(`invalid ${flag} "${text}": a duration like 30s or 1m30s`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS[p[2]!]!, 0);
}
