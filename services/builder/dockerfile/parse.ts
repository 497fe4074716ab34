import { DockerfileParser, type Dockerfile as Ast } from 'dockerfile-ast';
import { lineError } from './errors';
import { parsedInstruction } from './instruction';
import type { Dockerfile, ParsedInstruction, Stage } from './model';
import { SourceText } from './source';
import { splitWhitespace } from './words';

/**
 * A Dockerfile's stages and instructions, checked for everything Docker refuses before a build
 * starts. dockerfile-ast finds the directives, the instructions and their lines, flags and
 * arguments; variables are left for resolve.ts, since their values are known only during the build.
 */
export function parseDockerfile(text: string): Dockerfile {
  // Docker drops a byte-order mark before reading the first line (where a directive may be).
  const source = new SourceText(text.replace(/^\uFEFF/, ''));
  const ast = DockerfileParser.parse(source.text);
  const escape = escapeDirective(ast);
  const instructions = ast.getInstructions();
  if (instructions.length === 0) throw lineError(1, 'the Dockerfile has no instructions: it needs at least a FROM');

  const globalArgs: ParsedInstruction[] = [];
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    const parsed = parsedInstruction(instruction, source, escape);
    const stage = stages.at(-1);
    if (parsed.kind === 'FROM') stages.push(newStage(parsed, stages));
    else if (stage !== undefined) stage.instructions.push(parsed);
    else if (parsed.kind === 'ARG') globalArgs.push(parsed);
    else throw lineError(parsed.line, `${parsed.kind} before the first FROM: only ARG may come before FROM`);
  }
  if (stages.length === 0) throw lineError(1, 'the Dockerfile has no FROM instruction: a build needs at least one stage');
  return { globalArgs, stages, escape };
}

/** `FROM image AS name`'s name, lower-cased as Docker has it; undefined for an unnamed stage. */
export function stageName(from: ParsedInstruction): string | undefined {
  return splitWhitespace(from.rawArguments ?? '')[2]?.toLowerCase();
}

function newStage(from: ParsedInstruction, stages: Stage[]): Stage {
  const name = stageName(from);
  if (name !== undefined && stages.some((stage) => stage.name === name)) {
    throw lineError(from.line, `duplicate stage name "${name}": each FROM ... AS name must be unique`);
  }
  return { index: stages.length, name, from, instructions: [] };
}

/**
 * The `# escape=` directive's character. dockerfile-ast falls back to "\" for any other value; Docker
 * refuses it, and so do we rather than read the file with an escape its author did not mean.
 */
function escapeDirective(ast: Ast): string {
  for (const directive of ast.getDirectives()) {
    if (directive.getName().toLowerCase() !== 'escape') continue;
    const value = directive.getValue();
    if (value !== '\\' && value !== '`') {
      throw lineError(directive.getRange().start.line + 1, `invalid escape directive "${value}": use \\ or \``);
    }
  }
  return ast.getEscapeCharacter();
}
