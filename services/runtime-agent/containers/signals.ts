import { constants } from 'node:os';
import { invalidArgument } from '../../../libs/errors';

const BY_NUMBER = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]));

/** A signal as "SIGTERM", "TERM" or "15", checked and named as runc takes it ("SIGTERM"). */
export function parseSignal(text: string): { name: string; number: number } {
  const trimmed = text.trim().toUpperCase();
  if (/^\d+$/.test(trimmed)) {
    const name = BY_NUMBER.get(Number(trimmed));
    if (name !== undefined) return { name, number: Number(trimmed) };
  } else {
    const name = trimmed.startsWith('SIG') ? trimmed : `SIG${trimmed}`;
    const number = (constants.signals as Record<string, number>)[name];
    if (number !== undefined) return { name, number };
  }
  throw invalidArgument(`invalid signal: "${text}"`);
}
