import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isBerthError } from '../../libs/errors';
import { applyChanges } from '../../libs/image-config';
import { parseDockerfile, resolveFrom, resolveInstruction, type Dockerfile } from '../../services/builder/dockerfile';
import { fuzzParameters, ODD_CHARACTERS, returnsOrRefuses, textOf } from './fuzz';

/**
 * The builder's Dockerfile front end reads text from whoever sends a build: whatever it is given, it
 * must either give a model or refuse the file with INVALID_ARGUMENT located at a line, never crash
 * (a TypeError would be an INTERNAL that tells the author nothing) and never hang.
 */

const KEYWORDS = ['FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'ENV', 'ARG', 'LABEL', 'EXPOSE', 'VOLUME', 'WORKDIR', 'USER', 'COPY', 'ADD', 'SHELL', 'STOPSIGNAL', 'HEALTHCHECK', 'ONBUILD', 'MAINTAINER'];
const FLAGS = ['platform', 'mount', 'network', 'security', 'from', 'chown', 'chmod', 'link', 'parents', 'checksum', 'keep-git-dir', 'interval', 'timeout', 'start-period', 'start-interval', 'retries', '', '-', 'x'];

/** What the parser and the word expansion treat specially, and some they should treat as plain text. */
const SPECIAL = [' ', ' ', '\t', '\n', '\r', '\\', '`', '"', "'", '$', '{', '}', ':', '-', '+', '?', '=', ',', '[', ']', '#', '<<', '/', '.', '*', '@', 'a', 'Z', '0', '9', '_'];
const WORD_CHARS = [...SPECIAL.filter((c) => c !== '\n' && c !== '\r'), ...ODD_CHARACTERS];

const word = textOf(WORD_CHARS, 12);

/** Values flags are given: good ones (durations, mounts, booleans) and near misses. */
const flagValue = fc.oneof(
  word,
  fc.constantFrom('true', 'FALSE', 'maybe', '30s', '1m30s', '0', '1ns', '.5h', '99999999999999999999h', '-1s', '2147483648', 'linux/amd64', '$PLATFORM', '${A:-b}'),
  fc
    .array(
      fc.tuple(fc.constantFrom('type', 'target', 'dst', 'source', 'from', 'id', 'sharing', 'uid', 'gid', 'mode', 'ro', 'rw', 'readonly', 'size', 'X'), fc.option(word)),
      { maxLength: 5 },
    )
    .map((fields) => fields.map(([key, value]) => (value === null ? key : `${key}=${value}`)).join(',')),
);

/** Docker's flags by instruction: a flag is mostly one its instruction takes, so that the rest is reached. */
const FLAGS_OF: Record<string, string[]> = {
  FROM: ['platform'],
  RUN: ['mount', 'mount', 'network', 'security'],
  COPY: ['from', 'chown', 'chmod', 'link', 'parents'],
  ADD: ['chown', 'chmod', 'link', 'checksum', 'keep-git-dir'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

function flagFor(keyword: string): fc.Arbitrary<string> {
  const name = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...(FLAGS_OF[keyword] ?? FLAGS)) }, { weight: 1, arbitrary: fc.constantFrom(...FLAGS) });
  return fc.tuple(name, fc.option(flagValue, { freq: 6 })).map(([flagName, value]) => (value === null ? `--${flagName}` : `--${flagName}=${value}`));
}

const flag = fc.constantFrom(...KEYWORDS).chain(flagFor);

/** JSON arrays, valid and not: the exec form's edge. */
const jsonish = fc.oneof(
  fc.array(fc.oneof(word, fc.string({ unit: 'binary', maxLength: 8 })), { maxLength: 4 }).map((items) => JSON.stringify(items)),
  fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value) ?? 'null'),
  fc.constantFrom('[', '[]', '["a",', '[1, 2]', '["a" "b"]', '[null]', '[["x"]]', '[ "sh" , "-c" ]', '{"a": 1}'),
);

const argument = fc.oneof(
  { weight: 4, arbitrary: word },
  { weight: 1, arbitrary: jsonish },
  { weight: 1, arbitrary: fc.tuple(word, word).map(([key, value]) => `${key}=${value}`) },
  { weight: 1, arbitrary: fc.constantFrom('<<EOF', '<<-EOF', '<<"EOF"', '0<<X', 'AS', 'as', 'NONE', 'CMD', '80/tcp', '1-65535/udp', '0-0', '65536', 'RUN', 'ONBUILD', 'FROM') },
);

/** One instruction: a keyword (in any case, or not one at all), flags, arguments, continuations. */
const instruction = fc
  .oneof({ weight: 8, arbitrary: fc.constantFrom(...KEYWORDS) }, { weight: 1, arbitrary: word })
  .chain((keyword) =>
    fc.record({
      keyword: fc.mixedCase(fc.constant(keyword)),
      leading: fc.constantFrom('', '', ' ', '\t'),
      // Flags where the instruction takes some; now and then a stray one where it takes none.
      flags: FLAGS_OF[keyword.toUpperCase()] !== undefined ? fc.array(flagFor(keyword.toUpperCase()), { maxLength: 2 }) : fc.oneof({ weight: 6, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(flag, { maxLength: 1 }) }),
      args: fc.array(argument, { minLength: 1, maxLength: 5 }),
      onbuildTrigger: keyword.toUpperCase() === 'ONBUILD' ? fc.mixedCase(fc.constantFrom(...KEYWORDS)) : fc.constant(''),
      continuations: fc.array(fc.constantFrom('\\\n', '`\n', '\\ \t\n', '\\\n# a comment\n', '\\\n\n', '\\\r\n'), { maxLength: 2 }),
    }),
  )
  .map(({ keyword, leading, flags, args, onbuildTrigger, continuations }) => {
    const words = [keyword, ...(onbuildTrigger === '' ? [] : [onbuildTrigger]), ...flags, ...args];
    // Continuations go between words, where a Dockerfile's author would break a long line.
    for (const continuation of continuations) words.splice(1 + (continuation.length % Math.max(1, words.length - 1)), 0, continuation);
    return leading + words.join(' ');
  });

const directive = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('# escape=`\n', '# escape=\\\n', '#escape=x\n', '# ESCAPE = `\n', '# escape=\n', '# syntax=docker/dockerfile:1\n# escape=`\n', '\uFEFF# escape=`\n'),
  },
);

/** Dockerfiles built from instructions: mostly well-formed enough to reach the later checks. */
const structured = fc
  .tuple(
    directive,
    // Mostly a FROM first, as a Dockerfile has, so that what follows gets past the first check.
    fc.option(fc.tuple(fc.constantFrom('FROM', 'from'), fc.constantFrom('busybox', 'alpine:3.20 AS build', '${BASE}', 'scratch as x'), fc.array(flagFor('FROM'), { maxLength: 1 })), { freq: 8 }),
    fc.array(fc.oneof({ weight: 8, arbitrary: instruction }, { weight: 1, arbitrary: fc.constantFrom('', '# comment', '   ', '\\') }), { maxLength: 10 }),
    fc.constantFrom('\n', '\r\n', '\r'),
  )
  .map(([head, from, lines, newline]) => head + [...(from === null ? [] : [`${from[0]} ${from[2].join(' ')} ${from[1]}`]), ...lines].join(newline));

/** Real Dockerfiles, for mutations to start from: whatever a mutation breaks, it breaks somewhere deep. */
const VALID = [
  'FROM alpine:3.20 AS build\nARG VERSION=1\nRUN --mount=type=cache,target=/root/.cache \\\n    apk add --no-cache curl\nCOPY --chown=1000:1000 --chmod=755 src/ /app/\nWORKDIR /app\nENV A=1 B="two words" C=${VERSION:-x}\nFROM scratch\nCOPY --from=build /app /app\nEXPOSE 80 443/tcp 53/udp\nHEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD ["curl", "-f", "http://localhost/"]\nENTRYPOINT ["/app/run"]\nCMD ["--serve"]\n',
  '# escape=`\nARG BASE=busybox\nFROM ${BASE}\nLABEL org.example.name="x y" `\n      org.example.version=1\nONBUILD RUN echo hi\nVOLUME ["/data", "/logs"]\nUSER 1000:1000\nSTOPSIGNAL SIGQUIT\nSHELL ["/bin/sh", "-c"]\nADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 https://example.com/x /x\nMAINTAINER someone\n',
  'FROM busybox\nRUN echo "$HOME" \'$PATH\' ${X:+set} ${Y:?must be set}\nCOPY a b c /dest/\nHEALTHCHECK NONE\nARG A B=2 C\nENV OLD form value\n',
];

type Mutation = { at: number; kind: 'delete' | 'insert' | 'duplicate'; length: number; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('delete', 'insert', 'duplicate'),
  length: fc.integer({ min: 1, max: 40 }),
  text: fc.oneof(textOf([...SPECIAL, ...ODD_CHARACTERS], 10), instruction.map((line) => `\n${line}\n`)),
});

function mutate(text: string, mutations: Mutation[]): string {
  for (const { at, kind, length, text: inserted } of mutations) {
    const position = text.length === 0 ? 0 : at % text.length;
    if (kind === 'delete') text = text.slice(0, position) + text.slice(position + length);
    else if (kind === 'insert') text = text.slice(0, position) + inserted + text.slice(position);
    else text = text.slice(0, position) + text.slice(position, position + length) + text.slice(position);
  }
  return text;
}

const mutated = fc.tuple(fc.constantFrom(...VALID), fc.array(mutation, { minLength: 1, maxLength: 6 })).map(([text, mutations]) => mutate(text, mutations));

/**
 * A huge line (a long word, many words, many continuations, deep nesting) of up to 48 KiB; shown in
 * a failure's report by how it was made rather than in full. The bound is not only the CI budget:
 * dockerfile-ast's ModifiableInstruction.getArguments is quadratic in an instruction's flags (it
 * shifts its array once per flag), so a line of 100,000 flags takes seconds to parse whatever we do.
 */
const HUGE_LINE = 48 * 1024;
const huge = fc
  .tuple(
    fc.constantFrom('RUN ', 'ENV A=', 'LABEL ', 'EXPOSE ', 'COPY ', 'ARG ', 'FROM ', 'RUN --mount=', 'HEALTHCHECK --interval='),
    fc.constantFrom('a', 'a ', '$A', '${A:-', '"${A:+', '\\\n', '"', '1-65535 ', 'type=cache,', '1s', '\u{1F600}', '[', '--x '),
    fc.double({ min: 0.1, max: 1, noNaN: true }),
  )
  .map(([head, unit, fraction]) => ({ head, unit, times: Math.ceil((fraction * HUGE_LINE) / unit.length) }))
  .map(({ head, unit, times }) => ({
    text: `FROM scratch\n${head}${unit.repeat(times)}\n`,
    [fc.toStringMethod]: () => `FROM scratch\\n${JSON.stringify(head)} + ${JSON.stringify(unit)} × ${times}`,
  }));

/** Variables the build would have at some point: the values go through expansion into the model. */
const variables = fc.dictionary(fc.oneof(fc.constantFrom('A', 'B', 'VERSION', 'BASE', 'PLATFORM', 'HOME', 'X', 'Y'), word), fc.oneof(word, fc.constant('')), { maxKeys: 6 });

/**
 * Parses text, and resolves what parses as a build would, insisting on a model or a located refusal.
 * Says which it was, so that a test can tell its inputs reach past the first checks.
 */
function checkDockerfile(text: string, vars: Record<string, string>): 'parsed' | 'refused' {
  const lines = text.split(/\r\n|\r|\n/).length;
  let dockerfile: Dockerfile;
  try {
    dockerfile = parseDockerfile(text);
  } catch (err) {
    assert.ok(isBerthError(err, 'invalid_argument'), `parsing ${JSON.stringify(text.slice(0, 300))} threw ${err instanceof Error ? err.stack : String(err)}`);
    assertLocated(err.message, lines);
    return 'refused';
  }
  // What parses is a model the build can run through: stages that start at a FROM, lines that exist.
  assert.ok(dockerfile.stages.length > 0, 'a parsed Dockerfile has a stage');
  assert.ok(dockerfile.escape === '\\' || dockerfile.escape === '`', `escape ${JSON.stringify(dockerfile.escape)}`);
  for (const [index, stage] of dockerfile.stages.entries()) {
    assert.equal(stage.index, index);
    assert.equal(stage.from.kind, 'FROM');
    for (const parsed of [stage.from, ...stage.instructions]) assert.ok(parsed.line >= 1 && parsed.line <= lines, `line ${parsed.line} of ${lines}`);
  }
  for (const stage of dockerfile.stages) {
    for (const step of [() => resolveFrom(stage.from, vars, dockerfile.escape), ...stage.instructions.map((parsed) => () => resolveInstruction(parsed, vars, dockerfile.escape))]) {
      try {
        step();
      } catch (err) {
        assert.ok(isBerthError(err, 'invalid_argument'), `resolving in ${JSON.stringify(text.slice(0, 300))} threw ${err instanceof Error ? err.stack : String(err)}`);
        assertLocated(err.message, lines);
      }
    }
  }
  return 'parsed';
}

/** Runs checkDockerfile over inputs, and insists that at least minimum of them parsed. */
function checkMany(inputs: fc.Arbitrary<string>, numRuns: number, minimum: number): void {
  const outcomes = { parsed: 0, refused: 0 };
  fc.assert(fc.property(inputs, variables, (text, vars) => void outcomes[checkDockerfile(text, vars)]++), fuzzParameters(numRuns));
  // Inputs that are all refused at their first line would test one error path over and over.
  assert.ok(outcomes.parsed >= minimum, `${outcomes.parsed} of ${numRuns} inputs parsed, fewer than ${minimum}`);
}

/** A refusal names the line to look at, and it is a line of the file. */
function assertLocated(message: string, lines: number): void {
  const located = /^Dockerfile line (\d+): ./s.exec(message);
  assert.ok(located !== null, `"${message.slice(0, 200)}" names its line`);
  assert.ok(Number(located[1]) >= 1 && Number(located[1]) <= lines, `line ${located[1]} of ${lines}`);
}

test('any text parses to a model or is refused at a line', { timeout: 60_000 }, () => {
  const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), textOf([...SPECIAL, ...ODD_CHARACTERS, 'FROM ', 'RUN ', 'ONBUILD '], 400));
  fc.assert(fc.property(anyText, variables, (text, vars) => void checkDockerfile(text, vars)), fuzzParameters(300));
});

test('Dockerfiles of random instructions, flags, quotes, continuations and directives parse or are refused at a line', { timeout: 60_000 }, () => {
  checkMany(structured, 300, 15);
});

test('mutated real Dockerfiles parse or are refused at a line', { timeout: 60_000 }, () => {
  checkMany(mutated, 300, 15);
});

test('huge lines parse or are refused, in bounded time', { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(huge, variables, ({ text }, vars) => {
      const started = performance.now();
      checkDockerfile(text, vars);
      // Linear work on 48 KiB takes milliseconds; a backtracking regex or a quadratic loop takes seconds.
      assert.ok(performance.now() - started < 5_000, `${Math.round(performance.now() - started)} ms for ${text.length} characters`);
    }),
    fuzzParameters(30),
  );
});

test('import --change instructions are applied or refused', { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(instruction, mutated.map((text) => text.slice(0, 200))), { maxLength: 3 }), (changes) => {
      const config = returnsOrRefuses(() => applyChanges({}, changes), ['invalid_argument'], `--change ${JSON.stringify(changes)}`);
      // Applied, the config is what the image's JSON holds: it must survive being written as JSON.
      if (config !== undefined) assert.deepEqual(JSON.parse(JSON.stringify(config)), config);
    }),
    fuzzParameters(300),
  );
});

test('what fuzzing found stays fixed: deep ${...} nesting is refused, EXPOSE of many ranges is quick', () => {
  // Each level of ${A:-...} was a recursive read: thousands overflowed the stack (a RangeError).
  const nested = only(`ENV X=${'${A:-'.repeat(5_000)}x${'}'.repeat(5_000)}`);
  assert.throws(() => resolveInstruction(nested, {}, '\\'), (err: unknown) => isBerthError(err, 'invalid_argument') && /^Dockerfile line 2: .*nested more than 100 deep/s.test(err.message));
  const shallow = only('ENV X=${A:-${B:-${C:-deep}}}');
  assert.deepEqual(resolveInstruction(shallow, {}, '\\'), { line: 2, text: 'ENV X=${A:-${B:-${C:-deep}}}', kind: 'ENV', pairs: [['X', 'deep']] });

  // Each range was walked port by port even when its ports were all given: 65 million steps here.
  const started = performance.now();
  const exposed = resolveInstruction(only(`EXPOSE ${'1-65535 '.repeat(1_000)}53/udp 80 80/TCP`), {}, '\\');
  assert.ok(performance.now() - started < 2_000, `${Math.round(performance.now() - started)} ms`);
  assert.ok(exposed.kind === 'EXPOSE');
  assert.equal(exposed.ports.length, 65536);
  assert.deepEqual([exposed.ports[0], exposed.ports[79], exposed.ports.at(-1)], ['1/tcp', '80/tcp', '53/udp'], 'in the order first given, each once');
});

/** The single instruction after FROM in `FROM scratch\n<line>`. */
function only(line: string) {
  return parseDockerfile(`FROM scratch\n${line}\n`).stages[0]!.instructions[0]!;
}
