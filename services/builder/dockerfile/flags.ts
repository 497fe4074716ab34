import { ModifiableInstruction, type Flag, type Instruction } from 'dockerfile-ast';
import { type BerthError, invalidArgument } from '../../../libs/errors';
import type { InstructionKind, ParsedInstruction } from './model';
import type { SourceText } from './source';

/** How a flag takes its value: once, or repeated (RUN --mount), or a boolean whose bare form means true. */
type FlagType = 'string' | 'repeated' | 'boolean';

/** Docker's flags, by instruction; every other instruction takes none. */
const FLAGS: Partial<Record<InstructionKind, Record<string, FlagType>>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'repeated', network: 'string', security: 'string' },
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'boolean', parents: 'boolean' },
  ADD: { chown: 'string', chmod: 'string', link: 'boolean', checksum: 'string', 'keep-git-dir': 'boolean' },
  HEALTHCHECK: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

/**
 * The flags written before the instruction's arguments. dockerfile-ast keeps looking for flags past
 * a word like `./configure--fast`; Docker stops at the first word that is not a flag, so a flag
 * only counts when nothing but blanks (or continued lines) comes between it and the keyword or the
 * flag before it.
 */
export function leadingFlags(instruction: Instruction, source: SourceText, escape: string): Flag[] {
  if (!(instruction instanceof ModifiableInstruction)) return [];
  const leading: Flag[] = [];
  let previousEnd = instruction.getInstructionRange().end;
  for (const flag of instruction.getFlags()) {
    if (source.joined(previousEnd, flag.getRange().start, escape) !== '') break;
    leading.push(flag);
    previousEnd = flag.getRange().end;
  }
  return leading;
}

/**
 * The flags, checked against Docker's for the kind. A boolean flag written bare (`--link`) is stored
 * as "true"; the others need a value and, but for --mount, come once. argumentsText is what follows
 * the flags: dockerfile-ast looks for flags only in the instructions that have some, while Docker
 * reads a leading --word as a flag everywhere (and refuses it where none is known).
 */
export function checkedFlags(kind: InstructionKind, flags: Flag[], argumentsText: string): ParsedInstruction['flags'] {
  const stray = /^--([^\s=]*)/.exec(argumentsText);
  if (stray !== null) throw unknownFlag(kind, stray[1]!);
  const checked: ParsedInstruction['flags'] = [];
  for (const flag of flags) {
    const name = flag.getName();
    const type = FLAGS[kind]?.[name];
    if (type === undefined) throw unknownFlag(kind, name);
    if (type !== 'repeated' && checked.some((seen) => seen.name === name)) throw invalidArgument(`--${name} is given twice`);
    let value = flag.getValue();
    if (type === 'boolean') {
      value ??= 'true';
      if (!/^(true|false)$/i.test(value)) throw invalidArgument(`--${name} takes true or false, not "${value}"`);
      value = value.toLowerCase();
    } else if (value === null) {
      throw invalidArgument(`--${name} needs a value: --${name}=...`);
    }
    checked.push({ name, value });
  }
  return checked;
}

function unknownFlag(kind: InstructionKind, name: string): BerthError {
  const known = Object.keys(FLAGS[kind] ?? {}).map((flag) => `--${flag}`);
  return invalidArgument(`unknown flag --${name} for ${kind}: ${known.length === 0 ? `${kind} takes no flags` : `it takes ${known.join(', ')}`}`);
}

/** The value of a flag that comes at most once. */
export function flagValue(instruction: ParsedInstruction, name: string): string | undefined {
  return instruction.flags.find((flag) => flag.name === name)?.value;
}

/** The values of a repeated flag, in order. */
export function flagValues(instruction: ParsedInstruction, name: string): string[] {
  return instruction.flags.filter((flag) => flag.name === name).map((flag) => flag.value);
}
