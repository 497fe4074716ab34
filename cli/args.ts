import { parseArgs, type ParseArgsConfig } from 'node:util';
import { invalidArgument } from '../libs/errors';

type OptionConfig = NonNullable<ParseArgsConfig['options']>[string];

/**
 * A command's flag: node's parseArgs option, with what `--help` and the reference (docs/10-reference.md,
 * made from these) say of it. Every flag has its description, so that neither can leave one out.
 */
export type Flag = OptionConfig & {
  description: string;
  /** The name of its value in help ("SECONDS", "KEY=VALUE"); "value" unless given. */
  value?: string;
  /** Left out of help: a flag for Berth's own use, not people's. */
  hidden?: boolean;
};
export type Flags = Record<string, Flag>;

/** What parseFlags gives: node's own result type for these options. */
type Parsed<T extends Flags> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;

/**
 * Thrown by parseFlags when a command is asked for `--help`: the command line prints its usage and
 * these flags instead of running it, and the reference is made the same way.
 */
export class HelpRequested extends Error {
  constructor(readonly flags: Flags) {
    super('help requested');
  }
}

/** node:util's parseArgs, with its errors turned into one line for the user; `--help` throws HelpRequested. */
export function parseFlags<T extends Flags>(args: string[], options: T, command: string): Parsed<T> {
  const end = args.indexOf('--');
  if ((end === -1 ? args : args.slice(0, end)).includes('--help')) throw new HelpRequested(options);
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw invalidArgument(`${command}: ${(err as Error).message}`);
  }
}

/**
 * Flags up to the first positional argument, then everything after it untouched: for commands
 * such as `run IMAGE COMMAND...` and `exec CONTAINER COMMAND...`, whose command has flags of its own.
 */
export function parseFlagsThenCommand<T extends Flags>(args: string[], options: T, command: string): { values: Parsed<T>['values']; positionals: string[] } {
  const takesValue = (name: string) => options[name]?.type === 'string';
  const byShort = new Map(Object.entries(options).filter(([, o]) => o.short !== undefined).map(([name, o]) => [o.short!, name]));
  let index = 0;
  while (index < args.length) {
    const arg = args[index]!;
    if (arg === '--') break;
    if (!arg.startsWith('-') || arg === '-') break;
    if (arg.startsWith('--')) {
      index += !arg.includes('=') && takesValue(arg.slice(2)) ? 2 : 1;
      continue;
    }
    // Short flags may be grouped (-dit); one that takes a value takes the rest or the next argument.
    let consumed = 1;
    for (let at = 1; at < arg.length; at++) {
      const name = byShort.get(arg[at]!);
      if (name !== undefined && takesValue(name)) {
        if (at === arg.length - 1) consumed = 2;
        break;
      }
    }
    index += consumed;
  }
  const rest = args[index] === '--' ? args.slice(index + 1) : args.slice(index);
  const parsed = parseFlags(args.slice(0, index), options, command);
  return { values: parsed.values, positionals: [...parsed.positionals, ...rest] };
}

/** "k=v" → ["k", "v"]; "k" (no separator) → ["k", ""]. */
export function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)];
}

/** Repeated k=v flags (--label, --opt) as a map; a bare key has the empty value, as Docker's. */
export function keyValueMap(values: string[] | undefined): Record<string, string> {
  return Object.fromEntries((values ?? []).map((value) => splitOnce(value, '=')));
}
