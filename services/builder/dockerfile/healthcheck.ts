import { invalidArgument } from '../../../libs/errors';
import { flagValue } from './flags';
import type { HealthcheckSpec, ParsedInstruction } from './model';

const NANOSECONDS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
/** Docker's shortest interval; 0 means "the default". */
const MINIMUM_NANOSECONDS = 1e6;

/** HEALTHCHECK as the image config stores it. Its flags are not expanded (Docker does not expand them either). */
export function healthcheckSpec(instruction: ParsedInstruction): HealthcheckSpec {
  return {
    test: healthcheckTest(instruction),
    interval: durationFlag(instruction, 'interval'),
    timeout: durationFlag(instruction, 'timeout'),
    startPeriod: durationFlag(instruction, 'start-period'),
    startInterval: durationFlag(instruction, 'start-interval'),
    retries: retriesFlag(instruction),
  };
}

/** ["NONE"], ["CMD", ...argv] for the JSON form, ["CMD-SHELL", command] for the shell form. */
function healthcheckTest(instruction: ParsedInstruction): string[] {
  if (instruction.json !== undefined) return instruction.json;
  const [, type = '', command = ''] = /^(\S+)\s*(.*)$/s.exec(instruction.rawArguments ?? '') ?? [];
  return type.toUpperCase() === 'NONE' ? ['NONE'] : ['CMD-SHELL', command];
}

function durationFlag(instruction: ParsedInstruction, name: string): number {
  const value = flagValue(instruction, name);
  if (value === undefined || value === '') return 0;
  const nanoseconds = parseDuration(value);
  if (nanoseconds === undefined) throw invalidArgument(`--${name}=${value} is not a duration: use a number and a unit, as in 30s or 1m30s`);
  if (nanoseconds !== 0 && nanoseconds < MINIMUM_NANOSECONDS) throw invalidArgument(`--${name}=${value} is shorter than the minimum, 1ms`);
  return nanoseconds;
}

function retriesFlag(instruction: ParsedInstruction): number {
  const value = flagValue(instruction, 'retries');
  if (value === undefined || value === '') return 0;
  if (!/^\d+$/.test(value) || Number(value) > 2 ** 31 - 1) throw invalidArgument(`--retries=${value} is not a count: use a whole number, 0 or more`);
  return Number(value);
}

/** A Go duration ("1m30s", "1.5s", "300ms", "0") in nanoseconds; undefined if it is not one. Negative ones are refused. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!DURATION.test(text)) return undefined;
  let nanoseconds = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART)) nanoseconds += Number(amount) * NANOSECONDS[unit!]!;
  return Math.round(nanoseconds);
}
