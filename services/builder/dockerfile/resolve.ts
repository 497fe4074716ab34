import { BerthError, invalidArgument } from '../../../libs/errors';
import { atLine } from './errors';
import { expandWord } from './expand';
import { flagValue, flagValues } from './flags';
import { healthcheckSpec } from './healthcheck';
import type { Command, ParsedInstruction, ResolvedInstruction } from './model';
import { runMount } from './mounts';
import { stageName } from './parse';
import { exposedPorts } from './ports';
import { argDeclarations, keyValuePairs, splitWhitespace } from './words';

type Variables = Record<string, string>;
type Expand = (word: string) => string;

/**
 * An instruction with its variables expanded where Docker expands them, and its values checked. vars
 * is the environment at this point of the stage: its ENV (its base image's included) and the ARGs in
 * scope. RUN, CMD and ENTRYPOINT stay as written, their shell expands them; so do ONBUILD's trigger
 * (expanded when a child image runs it), SHELL, MAINTAINER and HEALTHCHECK.
 */
export function resolveInstruction(instruction: ParsedInstruction, vars: Variables, escape: string): ResolvedInstruction {
  return atLine(instruction.line, () => resolve(instruction, (word) => expandWord(word, vars, escape), escape));
}

/**
 * A stage's FROM: the base image (or an earlier stage's name) and platform, expanded with the ARGs
 * declared before the first FROM, the only ones in scope there; and the stage's name.
 */
export function resolveFrom(from: ParsedInstruction, vars: Variables, escape: string): { image: string; platform?: string; name?: string } {
  if (from.kind !== 'FROM') throw new BerthError('internal', `resolveFrom was given ${from.kind}, not FROM`);
  return atLine(from.line, () => {
    const written = splitWhitespace(from.rawArguments ?? '')[0] ?? '';
    const image = expandWord(written, vars, escape);
    if (image === '') throw invalidArgument(`FROM ${written} names no image once expanded: declare the ARGs FROM uses before the first FROM, with a value`);
    const platform = expandOptional(flagValue(from, 'platform'), (word) => expandWord(word, vars, escape));
    return { image, platform: platform === '' ? undefined : platform, name: stageName(from) };
  });
}

function resolve(instruction: ParsedInstruction, expand: Expand, escape: string): ResolvedInstruction {
  const { line, text, kind } = instruction;
  const written = instruction.rawArguments ?? '';
  switch (kind) {
    case 'FROM':
      throw new BerthError('internal', 'FROM is resolved with resolveFrom, with the global ARGs');
    case 'RUN':
      return {
        line,
        text,
        kind,
        command: commandOf(instruction),
        mounts: flagValues(instruction, 'mount').map((spec) => runMount(spec, expand)),
        network: oneOf('network', flagValue(instruction, 'network'), ['default', 'none', 'host'] as const),
        security: oneOf('security', flagValue(instruction, 'security'), ['sandbox', 'insecure'] as const),
      };
    case 'CMD':
    case 'ENTRYPOINT':
      return { line, text, kind, command: commandOf(instruction) };
    case 'ENV':
    case 'LABEL':
      return {
        line,
        text,
        kind,
        pairs: keyValuePairs(kind, written, escape).map(([key, value]) => [nonBlankName(kind, expand(key)), expand(value)]),
      };
    case 'ARG':
      return {
        line,
        text,
        kind,
        args: argDeclarations(written, escape).map(({ name, defaultValue }) =>
          defaultValue === undefined
            ? { name: nonBlankName(kind, expand(name)) }
            : { name: nonBlankName(kind, expand(name)), defaultValue: expand(defaultValue) },
        ),
      };
    case 'EXPOSE':
      // Docker expands each word, then splits the result at blanks: `EXPOSE $PORTS` may give several.
      return { line, text, kind, ports: exposedPorts(splitWhitespace(written).flatMap((word) => splitWhitespace(expand(word)))) };
    case 'VOLUME':
      return { line, text, kind, paths: (instruction.json ?? splitWhitespace(written)).map((path) => nonEmpty('VOLUME', expand(path).trim())) };
    case 'WORKDIR':
      return { line, text, kind, path: nonEmpty(kind, expand(written)) };
    case 'USER':
      return { line, text, kind, user: nonEmpty(kind, expand(written)) };
    case 'COPY':
    case 'ADD':
      return { line, text, kind, ...copyArguments(instruction, expand) };
    case 'SHELL':
      return { line, text, kind, shell: instruction.json ?? [] };
    case 'STOPSIGNAL':
      return { line, text, kind, signal: nonEmpty(kind, expand(written)) };
    case 'HEALTHCHECK':
      return { line, text, kind, healthcheck: healthcheckSpec(instruction) };
    case 'ONBUILD':
      return { line, text, kind, trigger: instruction.trigger?.text ?? written };
    case 'MAINTAINER':
      return { line, text, kind, maintainer: written };
  }
}

/** The exec form when written in JSON, the shell form otherwise. */
function commandOf(instruction: ParsedInstruction): Command {
  return instruction.json !== undefined ? { exec: instruction.json } : { shell: instruction.rawArguments ?? '' };
}

/**
 * COPY's and ADD's sources and destination (the last word), and their flags. Shell-form words are
 * split at blanks before expansion, as Docker splits them: quotes do not group words there (the JSON
 * form does), and a variable whose value has blanks stays one path.
 */
function copyArguments(instruction: ParsedInstruction, expand: Expand) {
  const paths = (instruction.json ?? splitWhitespace(instruction.rawArguments ?? '')).map(expand);
  return {
    sources: paths.slice(0, -1),
    destination: paths.at(-1) ?? '',
    from: expandOptional(flagValue(instruction, 'from'), expand),
    chown: expandOptional(flagValue(instruction, 'chown'), expand),
    chmod: expandOptional(flagValue(instruction, 'chmod'), expand),
    checksum: expandOptional(flagValue(instruction, 'checksum'), expand),
    link: flagValue(instruction, 'link') === 'true',
    keepGitDir: flagValue(instruction, 'keep-git-dir') === 'true',
    parents: flagValue(instruction, 'parents') === 'true',
  };
}

function expandOptional(word: string | undefined, expand: Expand): string | undefined {
  return word === undefined ? undefined : expand(word);
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined || (allowed as readonly string[]).includes(value)) return value as T | undefined;
  throw invalidArgument(`--${flag}=${value} is not one of ${allowed.join(', ')}`);
}

function nonBlankName(kind: string, name: string): string {
  if (name === '') throw invalidArgument(`${kind} names can not be blank`);
  return name;
}

function nonEmpty(kind: string, value: string): string {
  if (value === '') throw invalidArgument(`${kind} is empty once variables are expanded`);
  return value;
}
