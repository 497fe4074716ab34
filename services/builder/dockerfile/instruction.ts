import { Onbuild, type Instruction } from 'dockerfile-ast';
import { invalidArgument } from '../../../libs/errors';
import { atLine } from './errors';
import { checkedFlags, leadingFlags } from './flags';
import type { InstructionKind, ParsedInstruction } from './model';
import type { SourceText } from './source';
import { argDeclarations, keyValuePairs, splitWhitespace } from './words';

const KINDS: ReadonlySet<string> = new Set<InstructionKind>([
  'FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'ENV', 'ARG', 'LABEL', 'EXPOSE', 'VOLUME', 'WORKDIR', 'USER',
  'COPY', 'ADD', 'SHELL', 'STOPSIGNAL', 'HEALTHCHECK', 'ONBUILD', 'MAINTAINER',
]);

/** Docker's rule for `FROM image AS name` (after lower-casing the name). */
const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/** A here-document opener as Docker recognizes one in RUN, COPY and ADD: <<EOF, <<-EOF, <<"EOF". */
const HEREDOC = /^\d*<<-?[^<]+$/;

/**
 * One instruction of dockerfile-ast's, as the builder's model has it: its kind, line, joined text,
 * flags and arguments (in JSON form when it is written so), checked for what Docker refuses before
 * any variable is known.
 */
export function parsedInstruction(instruction: Instruction, source: SourceText, escape: string): ParsedInstruction {
  const line = instruction.getRange().start.line + 1;
  return atLine(line, () => parseAt(line, instruction, source, escape));
}

function parseAt(line: number, instruction: Instruction, source: SourceText, escape: string): ParsedInstruction {
  const keyword = instruction.getKeyword();
  if (!KINDS.has(keyword)) throw invalidArgument(`unknown instruction: ${keyword}`);
  const kind = keyword as InstructionKind;
  if ((kind === 'RUN' || kind === 'COPY' || kind === 'ADD') && instruction.getArguments().some((word) => HEREDOC.test(word.getValue()))) {
    throw invalidArgument(`heredocs are not supported: write the ${kind} without <<`);
  }
  const end = instruction.getRange().end;
  const text = source.joined(instruction.getInstructionRange().start, end, escape);
  const flags = leadingFlags(instruction, source, escape);
  const argumentsText = source.joined(flags.at(-1)?.getRange().end ?? instruction.getInstructionRange().end, end, escape);
  const parsed: ParsedInstruction = {
    kind,
    line,
    text,
    flags: checkedFlags(kind, flags, argumentsText),
    ...checkedArguments(kind, argumentsText, escape),
  };
  if (instruction instanceof Onbuild) parsed.trigger = onbuildTrigger(line, instruction, source, escape);
  return parsed;
}

/** The arguments in the model's two shapes (words as written, or the JSON form's strings), checked for their kind. */
function checkedArguments(kind: InstructionKind, text: string, escape: string): Pick<ParsedInstruction, 'rawArguments' | 'json'> {
  const json = ['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'COPY', 'ADD', 'VOLUME'].includes(kind) ? jsonForm(text) : undefined;
  if (json !== undefined) {
    if (json.length === 0 && kind !== 'CMD' && kind !== 'ENTRYPOINT') throw invalidArgument(`${kind} requires at least one argument`);
    if (json.length < 2 && (kind === 'COPY' || kind === 'ADD')) throw invalidArgument(`${kind} requires at least two arguments: sources and a destination`);
    return { json };
  }
  if (text === '') throw invalidArgument(`${kind} requires ${kind === 'COPY' || kind === 'ADD' ? 'at least two arguments: sources and a destination' : 'arguments'}`);
  switch (kind) {
    case 'SHELL':
      throw invalidArgument('SHELL requires the arguments to be in JSON form, as in SHELL ["/bin/sh", "-c"]');
    case 'COPY':
    case 'ADD':
      if (splitWhitespace(text).length < 2) throw invalidArgument(`${kind} requires at least two arguments: sources and a destination`);
      break;
    case 'FROM': {
      const words = splitWhitespace(text);
      if (words.length !== 1 && !(words.length === 3 && words[1]!.toLowerCase() === 'as')) {
        throw invalidArgument('FROM takes an image and an optional stage name: FROM image [AS name]');
      }
      if (words[2] !== undefined && !STAGE_NAME.test(words[2].toLowerCase())) {
        throw invalidArgument(`invalid stage name "${words[2]}": start with a letter, then letters, digits, "-", "_" or "."`);
      }
      break;
    }
    case 'ENV':
    case 'LABEL':
      keyValuePairs(kind, text, escape);
      break;
    case 'ARG':
      argDeclarations(text, escape);
      break;
    case 'HEALTHCHECK':
      return healthcheckArguments(text);
  }
  return { rawArguments: text };
}

/** HEALTHCHECK NONE, or HEALTHCHECK CMD with a command in either form. */
function healthcheckArguments(text: string): Pick<ParsedInstruction, 'rawArguments' | 'json'> {
  const [, type = '', command = ''] = /^(\S+)\s*(.*)$/s.exec(text) ?? [];
  switch (type.toUpperCase()) {
    case 'NONE':
      if (command !== '') throw invalidArgument('HEALTHCHECK NONE takes no arguments');
      return { rawArguments: text };
    case 'CMD': {
      const json = jsonForm(command);
      if (json?.length === 0 || command === '') throw invalidArgument('HEALTHCHECK CMD needs a command');
      return json === undefined ? { rawArguments: text } : { json: ['CMD', ...json] };
    }
    default:
      throw invalidArgument(`HEALTHCHECK takes NONE or CMD, not "${type}"`);
  }
}

/**
 * The exec form's strings, found as Docker finds them: arguments that parse as a JSON array. An array
 * holding anything but strings is an error; text that is not JSON at all is the shell form.
 * (JSON.parse has Go's json.Unmarshal rules here; dockerfile-ast's own JSON reading is more lenient.)
 */
function jsonForm(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((item): item is string => typeof item === 'string')) {
    throw invalidArgument('when using JSON array syntax, arrays must be comprised of strings only');
  }
  return value;
}

/** ONBUILD's trigger, parsed as an instruction of its own; Docker refuses a few kinds there. */
function onbuildTrigger(line: number, onbuild: Onbuild, source: SourceText, escape: string): ParsedInstruction {
  const trigger = onbuild.getTriggerInstruction();
  if (trigger === null) throw invalidArgument('ONBUILD requires an instruction to trigger, as in ONBUILD RUN make');
  const keyword = trigger.getKeyword();
  if (keyword === 'ONBUILD' || keyword === 'FROM' || keyword === 'MAINTAINER') {
    throw invalidArgument(`${keyword} isn't allowed as an ONBUILD trigger`);
  }
  return parseAt(line, trigger, source, escape);
}
