import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBerthError } from '../../../libs/errors';
import {
  expandWord,
  expandWords,
  parseDockerfile,
  resolveFrom,
  resolveInstruction,
  type ParsedInstruction,
  type ResolvedInstruction,
} from '../../../services/builder/dockerfile';

/** The instructions of a one-stage Dockerfile whose body is lines (after `FROM scratch` on line 1). */
function body(...lines: string[]): ParsedInstruction[] {
  return parseDockerfile(['FROM scratch', ...lines].join('\n')).stages[0]!.instructions;
}

/** The single instruction of `FROM scratch\n<line>`. */
function only(line: string): ParsedInstruction {
  const instructions = body(line);
  assert.equal(instructions.length, 1, `one instruction in ${line}`);
  return instructions[0]!;
}

/** The single instruction of `FROM scratch\n<line>`, resolved with vars. */
function resolved(line: string, vars: Record<string, string> = {}): ResolvedInstruction {
  return resolveInstruction(only(line), vars, '\\');
}

/** fn throws INVALID_ARGUMENT whose message starts with "Dockerfile line N: " and matches message. */
function assertLineError(fn: () => unknown, line: number, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isBerthError(err, 'invalid_argument'), `expected an invalid_argument BerthError, got ${String(err)}`);
    assert.ok(err.message.startsWith(`Dockerfile line ${line}: `), `"${err.message}" is located at line ${line}`);
    assert.match(err.message, message);
    return true;
  });
}

/** The body of `FROM scratch\n<line>` is refused at line 2 with message. */
function assertRefused(line: string, message: RegExp): void {
  assertLineError(() => body(line), 2, message);
}

/** `FROM scratch\n<line>` parses, but resolving it with vars is refused at line 2 with message. */
function assertUnresolvable(line: string, message: RegExp, vars: Record<string, string> = {}): void {
  const instruction = only(line);
  assertLineError(() => resolveInstruction(instruction, vars, '\\'), 2, message);
}

// ---------------------------------------------------------------------------------------------
// Parsing

test('every instruction Docker knows parses to its kind and line, keywords in any case', () => {
  const dockerfile = parseDockerfile(
    [
      'from alpine:3.20',
      'RUN apk add curl',
      'Cmd ["sh"]',
      'ENTRYPOINT ["/init"]',
      'ENV A=1',
      'ARG B',
      'LABEL c=d',
      'EXPOSE 80',
      'VOLUME /data',
      'WORKDIR /app',
      'USER nobody',
      'COPY a /a',
      'ADD b /b',
      'SHELL ["/bin/sh", "-c"]',
      'STOPSIGNAL SIGTERM',
      'HEALTHCHECK NONE',
      'onbuild RUN make',
      'MAINTAINER someone',
    ].join('\n'),
  );
  assert.equal(dockerfile.escape, '\\');
  assert.deepEqual(dockerfile.globalArgs, []);
  assert.equal(dockerfile.stages.length, 1);
  const stage = dockerfile.stages[0]!;
  assert.equal(stage.from.kind, 'FROM');
  assert.equal(stage.from.line, 1);
  assert.equal(stage.from.text, 'from alpine:3.20');
  assert.deepEqual(
    stage.instructions.map((instruction) => [instruction.kind, instruction.line]),
    [
      ['RUN', 2], ['CMD', 3], ['ENTRYPOINT', 4], ['ENV', 5], ['ARG', 6], ['LABEL', 7], ['EXPOSE', 8], ['VOLUME', 9],
      ['WORKDIR', 10], ['USER', 11], ['COPY', 12], ['ADD', 13], ['SHELL', 14], ['STOPSIGNAL', 15], ['HEALTHCHECK', 16],
      ['ONBUILD', 17], ['MAINTAINER', 18],
    ],
  );
});

test('instructions keep their arguments as written: unexpanded, quotes and all', () => {
  assert.deepEqual(only('RUN echo "$HOME" \'x\''), {
    kind: 'RUN',
    line: 2,
    text: 'RUN echo "$HOME" \'x\'',
    flags: [],
    rawArguments: 'echo "$HOME" \'x\'',
  });
  assert.deepEqual(only('ENV A=$B C="d e"').rawArguments, 'A=$B C="d e"');
  assert.deepEqual(only('  WORKDIR   /app  ').rawArguments, '/app');
  assert.equal(only('  WORKDIR   /app  ').text, 'WORKDIR   /app');
});

test('multi-stage: ARGs before the first FROM are global; stages are numbered, named in lower case, and hold their instructions', () => {
  const dockerfile = parseDockerfile(
    [
      '# syntax=docker/dockerfile:1',
      'ARG BASE=alpine',
      'ARG TAG',
      '',
      'FROM ${BASE}:${TAG:-latest} AS Builder',
      'RUN make',
      'FROM --platform=$BUILDPLATFORM golang:1.22 as tools',
      'FROM scratch',
      'COPY --from=builder /out /out',
      'COPY --from=tools /go/bin/x /x',
    ].join('\n'),
  );
  assert.deepEqual(
    dockerfile.globalArgs.map((arg) => [arg.line, arg.rawArguments]),
    [[2, 'BASE=alpine'], [3, 'TAG']],
  );
  assert.deepEqual(
    dockerfile.stages.map((stage) => [stage.index, stage.name, stage.from.line, stage.instructions.map((instruction) => instruction.line)]),
    [[0, 'builder', 5, [6]], [1, 'tools', 7, []], [2, undefined, 8, [9, 10]]],
  );
  assert.deepEqual(dockerfile.stages[1]!.from.flags, [{ name: 'platform', value: '$BUILDPLATFORM' }]);
  assert.deepEqual(dockerfile.stages[2]!.instructions[0]!.flags, [{ name: 'from', value: 'builder' }]);
});

test('resolveFrom expands the image and platform with the global ARGs and gives the stage name', () => {
  const dockerfile = parseDockerfile(
    ['ARG BASE=alpine', 'FROM ${BASE}:${TAG:-latest} AS Builder', 'FROM --platform=$BUILDPLATFORM golang:$GO', 'FROM builder'].join('\n'),
  );
  const [first, second, third] = dockerfile.stages.map((stage) => stage.from);
  const vars = { BASE: 'alpine', GO: '1.22', BUILDPLATFORM: 'linux/arm64' };
  assert.deepEqual(resolveFrom(first!, vars, '\\'), { image: 'alpine:latest', platform: undefined, name: 'builder' });
  assert.deepEqual(resolveFrom(first!, { ...vars, TAG: '3.20' }, '\\'), { image: 'alpine:3.20', platform: undefined, name: 'builder' });
  assert.deepEqual(resolveFrom(second!, vars, '\\'), { image: 'golang:1.22', platform: 'linux/arm64', name: undefined });
  assert.deepEqual(resolveFrom(second!, { GO: '1' }, '\\'), { image: 'golang:1', platform: undefined, name: undefined });
  assert.deepEqual(resolveFrom(third!, {}, '\\'), { image: 'builder', platform: undefined, name: undefined });

  const unset = parseDockerfile('FROM $IMAGE').stages[0]!.from;
  assertLineError(() => resolveFrom(unset, {}, '\\'), 1, /FROM \$IMAGE names no image once expanded/);
  const required = parseDockerfile('\n\nFROM ${IMAGE:?}').stages[0]!.from;
  assertLineError(() => resolveFrom(required, {}, '\\'), 3, /IMAGE: is not allowed to be unset/);
});

test('line continuations: joined as Docker joins them, comment and empty lines skipped, lines counted from the keyword', () => {
  const instructions = body(
    'RUN apt-get update && \\',
    '    # a comment inside the command',
    '',
    '    apt-get install -y curl \\   ',
    '  && rm -rf /var/lib/apt/lists',
    'ENV A=1 \\',
    '    B="2 3"',
    'COPY \\',
    '  a \\',
    '  /a',
    'LABEL x=y',
  );
  assert.deepEqual(
    instructions.map((instruction) => [instruction.kind, instruction.line]),
    [['RUN', 2], ['ENV', 7], ['COPY', 9], ['LABEL', 12]],
  );
  assert.equal(instructions[0]!.rawArguments, 'apt-get update &&     apt-get install -y curl   && rm -rf /var/lib/apt/lists');
  assert.equal(instructions[0]!.text, 'RUN apt-get update &&     apt-get install -y curl   && rm -rf /var/lib/apt/lists');
  assert.equal(instructions[1]!.rawArguments, 'A=1     B="2 3"');
  assert.deepEqual((resolveInstruction(instructions[1]!, {}, '\\') as { pairs: unknown }).pairs, [['A', '1'], ['B', '2 3']]);
  assert.equal(instructions[2]!.rawArguments, 'a   /a');
});

test('CRLF line endings and a byte-order mark read as plain newlines', () => {
  const dockerfile = parseDockerfile('\uFEFFFROM alpine\r\nRUN a \\\r\n  b\r\nCMD ["x"]\r\n');
  assert.deepEqual(
    dockerfile.stages[0]!.instructions.map((instruction) => [instruction.line, instruction.rawArguments ?? instruction.json]),
    [[2, 'a   b'], [4, ['x']]],
  );
  assert.equal(dockerfile.stages[0]!.from.rawArguments, 'alpine');
});

test('the escape directive: ` continues lines and escapes, \\ is then an ordinary character', () => {
  const dockerfile = parseDockerfile(
    [
      '# escape=`',
      '',
      'FROM mcr.microsoft.com/windows/servercore',
      'RUN dir c:\\ `',
      '    && echo done',
      'COPY C:\\src\\app C:\\app\\',
      'ENV A=x`$B C="a`"b" D=x\\y',
      'WORKDIR C:\\work\\`$DIR',
    ].join('\n'),
  );
  assert.equal(dockerfile.escape, '`');
  const [run, copy, env, workdir] = dockerfile.stages[0]!.instructions;
  assert.equal(run!.line, 4);
  assert.equal(run!.rawArguments, 'dir c:\\     && echo done');
  const vars = { B: 'b', DIR: 'd' };
  assert.deepEqual(resolveInstruction(copy!, vars, '`'), {
    line: 6,
    text: 'COPY C:\\src\\app C:\\app\\',
    kind: 'COPY',
    sources: ['C:\\src\\app'],
    destination: 'C:\\app\\',
    from: undefined,
    chown: undefined,
    chmod: undefined,
    checksum: undefined,
    link: false,
    keepGitDir: false,
    parents: false,
  });
  assert.deepEqual((resolveInstruction(env!, vars, '`') as { pairs: unknown }).pairs, [['A', 'x$B'], ['C', 'a"b'], ['D', 'x\\y']]);
  assert.deepEqual((resolveInstruction(workdir!, vars, '`') as { path: unknown }).path, 'C:\\work\\$DIR');
  assert.equal(parseDockerfile('# ESCAPE=\\\nFROM a').escape, '\\');
  // Only at the top: after an instruction or another comment, it is an ordinary comment.
  assert.equal(parseDockerfile('FROM a\n# escape=`\nRUN x').escape, '\\');
});

test('exec (JSON) form when the arguments parse as a JSON array of strings, shell form otherwise', () => {
  const cases: Array<[string, Pick<ParsedInstruction, 'rawArguments' | 'json'>]> = [
    ['RUN ["echo", "a b"]', { json: ['echo', 'a b'] }],
    ['RUN [ "echo" ,  "x" ] ', { json: ['echo', 'x'] }],
    ['RUN ["a\\"b", "c\\\\d", "\\u00e9"]', { json: ['a"b', 'c\\d', 'é'] }],
    ['CMD []', { json: [] }],
    ['ENTRYPOINT []', { json: [] }],
    ['ENTRYPOINT ["/init"]', { json: ['/init'] }],
    ['VOLUME ["/a", "/b c"]', { json: ['/a', '/b c'] }],
    ['COPY ["a b", "/c d/"]', { json: ['a b', '/c d/'] }],
    ['ADD ["x", "/y"]', { json: ['x', '/y'] }],
    ['SHELL ["/bin/bash", "-euo", "pipefail", "-c"]', { json: ['/bin/bash', '-euo', 'pipefail', '-c'] }],
    // Not JSON: Docker falls back to the shell form.
    ['RUN [echo, a]', { rawArguments: '[echo, a]' }],
    ["CMD ['single', 'quotes']", { rawArguments: "CMD ['single', 'quotes']".slice(4) }],
    ['CMD ["a",]', { rawArguments: '["a",]' }],
    ['CMD ["a"] && b', { rawArguments: '["a"] && b' }],
    ['RUN [ -f /x ] && echo yes', { rawArguments: '[ -f /x ] && echo yes' }],
    ['VOLUME /a /b', { rawArguments: '/a /b' }],
  ];
  for (const [line, expected] of cases) {
    const instruction = only(line);
    assert.deepEqual({ rawArguments: instruction.rawArguments, json: instruction.json }, { rawArguments: undefined, json: undefined, ...expected }, line);
  }
  // A JSON array continued over lines is still JSON.
  assert.deepEqual(body('CMD ["a", \\', '     "b"]')[0]!.json, ['a', 'b']);
});

test('flags are kept unexpanded, in order; --mount repeats; a bare boolean flag is true', () => {
  assert.deepEqual(only('COPY --from=build --chown=$U:$G --chmod=0755 --link a /b').flags, [
    { name: 'from', value: 'build' },
    { name: 'chown', value: '$U:$G' },
    { name: 'chmod', value: '0755' },
    { name: 'link', value: 'true' },
  ]);
  assert.deepEqual(only('COPY --link=FALSE --parents a /b').flags, [
    { name: 'link', value: 'false' },
    { name: 'parents', value: 'true' },
  ]);
  assert.deepEqual(only('ADD --checksum=sha256:abc --keep-git-dir=true --chown=1 https://x/y.git /src').flags.map((flag) => flag.name), [
    'checksum',
    'keep-git-dir',
    'chown',
  ]);
  assert.deepEqual(only('RUN --mount=type=cache,target=/a --mount=type=tmpfs,target=/b --network=none --security=sandbox make').flags, [
    { name: 'mount', value: 'type=cache,target=/a' },
    { name: 'mount', value: 'type=tmpfs,target=/b' },
    { name: 'network', value: 'none' },
    { name: 'security', value: 'sandbox' },
  ]);
  assert.equal(only('RUN --network=host make').rawArguments, 'make');
  // Flags come first: a --word after the first argument belongs to the command.
  assert.deepEqual(only('RUN ./configure--fast --prefix=/usr').flags, []);
  assert.deepEqual(only('RUN --network=none \\\n    a--b --c').flags, [{ name: 'network', value: 'none' }]);
  assert.equal(only('RUN --network=none \\\n    a--b --c').rawArguments, 'a--b --c');
  assert.deepEqual(only('HEALTHCHECK --interval=5s --retries=2 CMD true').flags.map((flag) => flag.name), ['interval', 'retries']);
});

test('ONBUILD parses its trigger as an instruction of its own', () => {
  const onbuild = only('ONBUILD copy --chown=app . /src');
  assert.equal(onbuild.rawArguments, 'copy --chown=app . /src');
  assert.deepEqual(onbuild.trigger, {
    kind: 'COPY',
    line: 2,
    text: 'copy --chown=app . /src',
    flags: [{ name: 'chown', value: 'app' }],
    rawArguments: '. /src',
  });
  assert.deepEqual(only('ONBUILD RUN ["make", "all"]').trigger?.json, ['make', 'all']);
});

test('HEALTHCHECK: NONE, CMD in shell form, CMD in exec form', () => {
  assert.equal(only('HEALTHCHECK NONE').rawArguments, 'NONE');
  assert.equal(only('HEALTHCHECK --interval=5s CMD curl -f http://localhost/').rawArguments, 'CMD curl -f http://localhost/');
  assert.deepEqual(only('healthcheck cmd ["curl", "-f", "http://localhost/"]').json, ['CMD', 'curl', '-f', 'http://localhost/']);
});

test('heredocs are refused with a clear message; a here-string is not a heredoc', () => {
  assertLineError(() => parseDockerfile('FROM a\nRUN <<EOF\necho hi\nEOF\n'), 2, /heredocs are not supported/);
  assertLineError(() => parseDockerfile('FROM a\nRUN cat <<-"EOT" > /x\nhi\nEOT\n'), 2, /heredocs are not supported/);
  assertLineError(() => parseDockerfile('FROM a\nCOPY <<EOF /x\nhi\nEOF\n'), 2, /heredocs are not supported/);
  assertLineError(() => parseDockerfile('FROM a\nADD <<EOF /x\nhi\nEOF\n'), 2, /heredocs are not supported/);
  assert.equal(only('RUN cat <<< "x"').rawArguments, 'cat <<< "x"');
});

// ---------------------------------------------------------------------------------------------
// Malformed Dockerfiles: each error names its line.

test('a Dockerfile without instructions, or without FROM, is refused', () => {
  assertLineError(() => parseDockerfile(''), 1, /has no instructions/);
  assertLineError(() => parseDockerfile('\n\n# only a comment\n'), 1, /has no instructions/);
  assertLineError(() => parseDockerfile('ARG A=1\nARG B\n'), 1, /has no FROM instruction/);
});

test('an unknown instruction is refused with its keyword', () => {
  assertLineError(() => parseDockerfile('FROM a\nRUN x\n\nFORM b'), 4, /unknown instruction: FORM$/);
  assertLineError(() => parseDockerfile('FROM a\nRUN x \\\n  y\ncopy-to a b'), 4, /unknown instruction: COPY-TO/);
  assertRefused('ONBUILD FORM x', /unknown instruction: FORM/);
});

test('only ARG may come before the first FROM', () => {
  assertLineError(() => parseDockerfile('ARG A\nRUN make\nFROM a'), 2, /RUN before the first FROM/);
  assertLineError(() => parseDockerfile('ENV A=1\nFROM a'), 1, /ENV before the first FROM: only ARG/);
});

test('instructions missing their arguments are refused', () => {
  const cases: Array<[string, RegExp]> = [
    ['WORKDIR', /WORKDIR requires arguments/],
    ['COPY onlyone', /COPY requires at least two arguments/],
    ['ADD onlyone', /ADD requires at least two arguments/],
    ['COPY ["onlyone"]', /COPY requires at least two arguments/],
    ['COPY --from=a', /COPY requires at least two arguments/],
    ['ENV', /ENV requires arguments/],
    ['ENV K', /ENV K has no value/],
    ['LABEL', /LABEL requires arguments/],
    ['ARG', /ARG requires arguments/],
    ['RUN', /RUN requires arguments/],
    ['RUN --network=none', /RUN requires arguments/],
    ['RUN []', /RUN requires at least one argument/],
    ['CMD', /CMD requires arguments/],
    ['ENTRYPOINT', /ENTRYPOINT requires arguments/],
    ['EXPOSE', /EXPOSE requires arguments/],
    ['VOLUME', /VOLUME requires arguments/],
    ['VOLUME []', /VOLUME requires at least one argument/],
    ['USER', /USER requires arguments/],
    ['STOPSIGNAL', /STOPSIGNAL requires arguments/],
    ['SHELL', /SHELL requires arguments/],
    ['SHELL []', /SHELL requires at least one argument/],
    ['HEALTHCHECK', /HEALTHCHECK requires arguments/],
    ['ONBUILD', /ONBUILD requires arguments/],
    ['MAINTAINER', /MAINTAINER requires arguments/],
  ];
  for (const [line, message] of cases) assertRefused(line, message);
  assertLineError(() => parseDockerfile('FROM'), 1, /FROM requires arguments/);
});

test('flags Docker does not know for the instruction are refused, as are flags without their value or given twice', () => {
  const cases: Array<[string, RegExp]> = [
    ['RUN --foo=bar make', /unknown flag --foo for RUN: it takes --mount, --network, --security/],
    ['COPY --keep-git-dir a /b', /unknown flag --keep-git-dir for COPY/],
    ['ADD --from=build a /b', /unknown flag --from for ADD/],
    ['ADD --parents a /b', /unknown flag --parents for ADD/],
    ['HEALTHCHECK --bogus=1 CMD true', /unknown flag --bogus for HEALTHCHECK/],
    ['WORKDIR --mode=1 /a', /unknown flag --mode for WORKDIR: WORKDIR takes no flags/],
    ['CMD --help', /unknown flag --help for CMD/],
    ['ENV --x=1 A=1', /unknown flag --x for ENV/],
    ['COPY --from a /b', /--from needs a value/],
    ['COPY --link=yes a /b', /--link takes true or false, not "yes"/],
    ['RUN --network=none --network=host make', /--network is given twice/],
  ];
  for (const [line, message] of cases) assertRefused(line, message);
  assertLineError(() => parseDockerfile('FROM --plat=linux/amd64 alpine'), 1, /unknown flag --plat for FROM: it takes --platform/);
});

test('FROM: one or three arguments, valid and unique stage names', () => {
  assertLineError(() => parseDockerfile('FROM a b'), 1, /FROM takes an image and an optional stage name/);
  assertLineError(() => parseDockerfile('FROM a AS'), 1, /FROM takes an image/);
  assertLineError(() => parseDockerfile('FROM a TO b'), 1, /FROM takes an image/);
  assertLineError(() => parseDockerfile('FROM a AS 1st'), 1, /invalid stage name "1st"/);
  assertLineError(() => parseDockerfile('FROM a AS my/stage'), 1, /invalid stage name "my\/stage"/);
  assertLineError(() => parseDockerfile('FROM a AS build\nRUN x\nFROM b AS Build'), 3, /duplicate stage name "build"/);
  assert.deepEqual(
    parseDockerfile('FROM a AS Build-1.x_y\nFROM b').stages.map((stage) => stage.name),
    ['build-1.x_y', undefined],
  );
});

test('ONBUILD refuses ONBUILD, FROM and MAINTAINER triggers', () => {
  assertRefused('ONBUILD ONBUILD RUN x', /ONBUILD isn't allowed as an ONBUILD trigger/);
  assertRefused('ONBUILD FROM alpine', /FROM isn't allowed as an ONBUILD trigger/);
  assertRefused('onbuild maintainer me', /MAINTAINER isn't allowed as an ONBUILD trigger/);
  assertRefused('ONBUILD COPY onlyone', /COPY requires at least two arguments/);
});

test('HEALTHCHECK must be NONE or CMD with a command', () => {
  assertRefused('HEALTHCHECK curl -f http://x/', /HEALTHCHECK takes NONE or CMD, not "curl"/);
  assertRefused('HEALTHCHECK NONE please', /HEALTHCHECK NONE takes no arguments/);
  assertRefused('HEALTHCHECK CMD', /HEALTHCHECK CMD needs a command/);
  assertRefused('HEALTHCHECK --interval=1s CMD []', /HEALTHCHECK CMD needs a command/);
});

test('malformed ENV, LABEL and ARG are refused', () => {
  const cases: Array<[string, RegExp]> = [
    ['ENV =x', /ENV names can not be blank/],
    ['ENV A=1 =2', /ENV names can not be blank/],
    ['ENV A=1 B', /ENV needs name=value pairs, and "B" has no "="/],
    ['ENV A=${X:-a b}', /ENV needs name=value pairs, and "b}" has no "="/],
    ['LABEL =x', /LABEL names can not be blank/],
    ['LABEL a=b c', /LABEL needs name=value pairs/],
    ['ARG =x', /ARG names can not be blank/],
  ];
  for (const [line, message] of cases) assertRefused(line, message);
});

test('SHELL must be in JSON form; JSON arrays must hold only strings', () => {
  assertRefused('SHELL /bin/bash -c', /SHELL requires the arguments to be in JSON form/);
  assertRefused('RUN ["echo", 1]', /arrays must be comprised of strings only/);
  assertRefused('CMD [null]', /arrays must be comprised of strings only/);
});

test('an escape directive other than \\ or ` is refused', () => {
  assertLineError(() => parseDockerfile('# escape=x\nFROM a'), 1, /invalid escape directive "x"/);
  assertLineError(() => parseDockerfile('# syntax=docker/dockerfile:1\n# escape=/\nFROM a'), 2, /invalid escape directive/);
});

test('errors after multi-line instructions name the right line', () => {
  assertLineError(
    () => parseDockerfile(['FROM a', 'RUN one \\', '  # comment', '', '  two', 'WORKDIR'].join('\n')),
    6,
    /WORKDIR requires arguments/,
  );
});

// ---------------------------------------------------------------------------------------------
// Word expansion

const VARS = { A: 'a', EMPTY: '', SPACED: 'x  y', HOME: '/root' };

test('expandWord: variables in every form, as moby\'s shell lexer does them', () => {
  const cases: Array<[string, string]> = [
    ['$A', 'a'],
    ['${A}', 'a'],
    ['$A$A', 'aa'],
    ['${A}b', 'ab'],
    ['$Ab', ''],
    ['$NOPE', ''],
    ['${NOPE}', ''],
    ['$HOME/app', '/root/app'],
    ['a$', 'a$'],
    ['$', '$'],
    ['$1', ''],
    ['$@x', 'x'],
    ['$.x', '$.x'],
    ['${A:-d}', 'a'],
    ['${EMPTY:-d}', 'd'],
    ['${NOPE:-d}', 'd'],
    ['${A-d}', 'a'],
    ['${EMPTY-d}', ''],
    ['${NOPE-d}', 'd'],
    ['${A:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${NOPE:+alt}', ''],
    ['${A+alt}', 'alt'],
    ['${EMPTY+alt}', 'alt'],
    ['${NOPE+alt}', ''],
    ['${A:?unset}', 'a'],
    ['${EMPTY?unset}', ''],
    ['${NOPE:-$A}', 'a'],
    ['${NOPE:-${A}x}', 'ax'],
    ['${NOPE:-"q  u"}', 'q  u'],
    ['${NOPE:-a\\}b}', 'a}b'],
    ['$SPACED', 'x  y'],
  ];
  for (const [word, expected] of cases) assert.equal(expandWord(word, VARS, '\\'), expected, word);
});

test('expandWord: quotes, escapes and quote removal', () => {
  const cases: Array<[string, string]> = [
    ["'$A'", '$A'],
    ['"$A"', 'a'],
    ['"${A}-${NOPE:-d}"', 'a-d'],
    ['x"y  z"w', 'xy  zw'],
    ['""', ''],
    ["''", ''],
    ['"it\'s"', "it's"],
    ["'say \"hi\"'", 'say "hi"'],
    ['"a\\"b"', 'a"b'],
    ['"\\$A"', '$A'],
    ['"a\\\\b"', 'a\\b'],
    ['"a\\nb"', 'a\\nb'],
    ["'a\\b'", 'a\\b'],
    ['\\$A', '$A'],
    ['a\\ b', 'a b'],
    ['\\"a\\"', '"a"'],
    ['a\\', 'a'],
    ['a  b', 'a  b'],
    ['~/$(id -u)*', '~/$(id -u)*'],
  ];
  for (const [word, expected] of cases) assert.equal(expandWord(word, VARS, '\\'), expected, word);
});

test('expandWord with ` as the escape character: \\ is literal', () => {
  const cases: Array<[string, string]> = [
    ['C:\\$A', 'C:\\a'],
    ['C:\\`$A', 'C:\\$A'],
    ['"a`"b"', 'a"b'],
    ['"a\\b"', 'a\\b'],
    ['a` b', 'a b'],
  ];
  for (const [word, expected] of cases) assert.equal(expandWord(word, VARS, '`'), expected, word);
});

test('expandWord: the error forms and malformed substitutions are INVALID_ARGUMENT', () => {
  const cases: Array<[string, RegExp]> = [
    ['${NOPE:?must be set}', /NOPE: must be set/],
    ['${NOPE?}', /NOPE: is not allowed to be unset/],
    ['${NOPE:?}', /NOPE: is not allowed to be unset/],
    ['${EMPTY:?}', /EMPTY: is not allowed to be empty/],
    ['${A', /missing '}'/],
    ['${A:-x', /missing '}'/],
    ['${', /missing '}'/],
    ['${}', /bad substitution/],
    ['${:x}', /bad substitution/],
    ['${A/x/y}', /unsupported modifier \(\/\)/],
    ['${A:=x}', /unsupported modifier \(:=\)/],
    ['"abc', /matching double-quote/],
    ["'abc", /matching single-quote/],
  ];
  for (const [word, message] of cases) {
    assert.throws(
      () => expandWord(word, VARS, '\\'),
      (err: unknown) => isBerthError(err, 'invalid_argument') && message.test(err.message) && err.message.includes(`"${word}"`),
      word,
    );
  }
});

test('expandWords: split at unquoted blanks after expansion', () => {
  const cases: Array<[string, string[]]> = [
    ['a  b\tc', ['a', 'b', 'c']],
    ['  a  ', ['a']],
    ['', []],
    ['""', []],
    ['"" a', ['a']],
    ['$SPACED', ['x', 'y']],
    ['"$SPACED"', ['x  y']],
    ['${NOPE:-p q}', ['p', 'q']],
    ["'a b' c", ['a b', 'c']],
    ['a\\ b c', ['a b', 'c']],
    ['pre$SPACED"post"', ['prex', 'ypost']],
    ['$EMPTY a', ['a']],
  ];
  for (const [text, expected] of cases) assert.deepEqual(expandWords(text, VARS, '\\'), expected, text);
});

// ---------------------------------------------------------------------------------------------
// Resolving instructions

test('ENV and LABEL: both forms, expanded, quotes removed', () => {
  const vars = { X: 'x', KEY: 'k' };
  const pairs = (line: string) => (resolved(line, vars) as { pairs: Array<[string, string]> }).pairs;
  assert.deepEqual(pairs('ENV K=V K2="v 2" K3=\'$X\' K4=a\\ b K5=$X K6=${X}y K7= K8=""'), [
    ['K', 'V'], ['K2', 'v 2'], ['K3', '$X'], ['K4', 'a b'], ['K5', 'x'], ['K6', 'xy'], ['K7', ''], ['K8', ''],
  ]);
  assert.deepEqual(pairs('ENV OLD value with   spaces $X'), [['OLD', 'value with   spaces x']]);
  assert.deepEqual(pairs('ENV OLD "quoted value"'), [['OLD', 'quoted value']]);
  assert.deepEqual(pairs('ENV $KEY=v'), [['k', 'v']]);
  assert.deepEqual(pairs('LABEL "com.example.a"="b c" version=1.0 d=$X'), [['com.example.a', 'b c'], ['version', '1.0'], ['d', 'x']]);
  assert.deepEqual(pairs('LABEL description This is $X'), [['description', 'This is x']]);
  assert.equal(resolved('ENV A=1').kind, 'ENV');
  assert.equal(resolved('LABEL a=1').kind, 'LABEL');
  assertUnresolvable('ENV $NOPE=v', /ENV names can not be blank/);
  assertUnresolvable('ENV A=${B:?required}', /B: required/);
});

test('ARG: names with optional defaults, several to a line, defaults expanded', () => {
  assert.deepEqual(resolved('ARG A B=1 C="x y" D=$X E=', { X: 'x' }), {
    line: 2,
    text: 'ARG A B=1 C="x y" D=$X E=',
    kind: 'ARG',
    args: [{ name: 'A' }, { name: 'B', defaultValue: '1' }, { name: 'C', defaultValue: 'x y' }, { name: 'D', defaultValue: 'x' }, { name: 'E', defaultValue: '' }],
  });
});

test('EXPOSE: ports, protocols and ranges become "port/protocol"; bad ones are refused with the line', () => {
  const ports = (line: string, vars: Record<string, string> = {}) => (resolved(line, vars) as { ports: string[] }).ports;
  assert.deepEqual(ports('EXPOSE 80'), ['80/tcp']);
  assert.deepEqual(ports('EXPOSE 80/tcp 53/udp 9/sctp 443/TCP'), ['80/tcp', '53/udp', '9/sctp', '443/tcp']);
  assert.deepEqual(ports('EXPOSE 8000-8003'), ['8000/tcp', '8001/tcp', '8002/tcp', '8003/tcp']);
  assert.deepEqual(ports('EXPOSE 7000-7001/udp 80 80/tcp'), ['7000/udp', '7001/udp', '80/tcp']);
  assert.deepEqual(ports('EXPOSE $PORT ${OTHER:-81}', { PORT: '8080' }), ['8080/tcp', '81/tcp']);
  assert.deepEqual(ports('EXPOSE $PORTS', { PORTS: '1 2/udp' }), ['1/tcp', '2/udp']);
  for (const bad of ['http', '70000', '90-80', '80/icmp', '80-', '-80', '127.0.0.1:80:80', '80/']) {
    assertUnresolvable(`EXPOSE 22 ${bad}`, new RegExp(`invalid port "${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" in EXPOSE`));
  }
  assertUnresolvable('EXPOSE $PORT', /invalid port "http"/, { PORT: 'http' });
});

test('VOLUME, WORKDIR, USER, STOPSIGNAL, SHELL, MAINTAINER', () => {
  const vars = { DIR: '/data', HOME: '/root', U: 'app', G: 'staff', SIG: 'SIGINT' };
  assert.deepEqual((resolved('VOLUME $DIR /b', vars) as { paths: string[] }).paths, ['/data', '/b']);
  assert.deepEqual((resolved('VOLUME ["$DIR", "/c d"]', vars) as { paths: string[] }).paths, ['/data', '/c d']);
  assert.deepEqual((resolved('WORKDIR $HOME/app', vars) as { path: string }).path, '/root/app');
  assert.deepEqual((resolved('WORKDIR "/with space"', vars) as { path: string }).path, '/with space');
  assert.deepEqual((resolved('USER $U:$G', vars) as { user: string }).user, 'app:staff');
  assert.deepEqual((resolved('USER 1000', vars) as { user: string }).user, '1000');
  assert.deepEqual((resolved('STOPSIGNAL $SIG', vars) as { signal: string }).signal, 'SIGINT');
  assert.deepEqual((resolved('STOPSIGNAL 9', vars) as { signal: string }).signal, '9');
  assert.deepEqual(resolved('SHELL ["/bin/bash", "-c"]', vars), { line: 2, text: 'SHELL ["/bin/bash", "-c"]', kind: 'SHELL', shell: ['/bin/bash', '-c'] });
  assert.deepEqual(resolved('MAINTAINER Jane <jane@example.com> $X', vars), {
    line: 2,
    text: 'MAINTAINER Jane <jane@example.com> $X',
    kind: 'MAINTAINER',
    maintainer: 'Jane <jane@example.com> $X',
  });
  assertUnresolvable('STOPSIGNAL $NOPE', /STOPSIGNAL is empty once variables are expanded/);
  assertUnresolvable('WORKDIR $NOPE', /WORKDIR is empty/);
  assertUnresolvable('USER ${NOPE}', /USER is empty/);
  assertUnresolvable('VOLUME $NOPE', /VOLUME is empty/);
});

test('COPY and ADD: sources and destination, JSON or words, flags expanded', () => {
  const vars = { SRC: 'src', SPACED: 'a b', U: 'app', STAGE: 'build' };
  assert.deepEqual(resolved('COPY --from=$STAGE --chown=$U:$U --chmod=644 --link $SRC/a ./b /dst/', vars), {
    line: 2,
    text: 'COPY --from=$STAGE --chown=$U:$U --chmod=644 --link $SRC/a ./b /dst/',
    kind: 'COPY',
    sources: ['src/a', './b'],
    destination: '/dst/',
    from: 'build',
    chown: 'app:app',
    chmod: '644',
    checksum: undefined,
    link: true,
    keepGitDir: false,
    parents: false,
  });
  const copy = (line: string) => resolved(line, vars) as Extract<ResolvedInstruction, { kind: 'COPY' | 'ADD' }>;
  assert.deepEqual(copy('COPY ["$SRC/with space", "/d e/"]').sources, ['src/with space']);
  assert.deepEqual(copy('COPY ["$SRC/with space", "/d e/"]').destination, '/d e/');
  // Words are split before expansion: a variable with a blank stays one path.
  assert.deepEqual(copy('COPY $SPACED /d/').sources, ['a b']);
  assert.equal(copy('COPY --parents a/b/c /d/').parents, true);
  const add = copy('ADD --checksum=sha256:0123 --keep-git-dir --link=false https://example.com/x.git /src');
  assert.deepEqual([add.kind, add.sources, add.destination, add.checksum, add.keepGitDir, add.link], [
    'ADD',
    ['https://example.com/x.git'],
    '/src',
    'sha256:0123',
    true,
    false,
  ]);
});

test('RUN, CMD and ENTRYPOINT are not expanded: their shell does it', () => {
  assert.deepEqual(resolved('RUN echo $HOME "${X:-y}"', { HOME: '/x' }), {
    line: 2,
    text: 'RUN echo $HOME "${X:-y}"',
    kind: 'RUN',
    command: { shell: 'echo $HOME "${X:-y}"' },
    mounts: [],
    network: undefined,
    security: undefined,
  });
  assert.deepEqual((resolved('RUN ["echo", "$HOME"]') as { command: unknown }).command, { exec: ['echo', '$HOME'] });
  assert.deepEqual(resolved('CMD ["node", "$APP"]'), { line: 2, text: 'CMD ["node", "$APP"]', kind: 'CMD', command: { exec: ['node', '$APP'] } });
  assert.deepEqual(resolved('CMD node $APP'), { line: 2, text: 'CMD node $APP', kind: 'CMD', command: { shell: 'node $APP' } });
  assert.deepEqual(resolved('ENTRYPOINT []'), { line: 2, text: 'ENTRYPOINT []', kind: 'ENTRYPOINT', command: { exec: [] } });
  assert.deepEqual((resolved('ENTRYPOINT exec "$0"') as { command: unknown }).command, { shell: 'exec "$0"' });
});

test('RUN --mount: cache, bind and tmpfs, values expanded; --network and --security', () => {
  const run = (line: string, vars: Record<string, string> = {}) => resolved(line, vars) as Extract<ResolvedInstruction, { kind: 'RUN' }>;
  assert.deepEqual(run('RUN --mount=type=cache,target=/root/.cache make').mounts, [
    { type: 'cache', target: '/root/.cache', id: '/root/.cache', readOnly: false },
  ]);
  assert.deepEqual(run('RUN --mount=type=cache,id=$ID,target=/var/cache/apt,sharing=locked,uid=1000,gid=1000,mode=0755,readonly make', { ID: 'apt' }).mounts, [
    { type: 'cache', target: '/var/cache/apt', id: 'apt', sharing: 'locked', uid: 1000, gid: 1000, mode: 0o755, readOnly: true },
  ]);
  assert.deepEqual(run('RUN --mount=type=bind,source=src,target=/src make').mounts, [{ type: 'bind', source: 'src', target: '/src', readOnly: true }]);
  assert.deepEqual(run('RUN --mount=target=/src,from=builder,src=/out,rw make').mounts, [
    { type: 'bind', source: '/out', from: 'builder', target: '/src', readOnly: false },
  ]);
  assert.deepEqual(run('RUN --mount=type=bind,dst=$DIR,readwrite=false make', { DIR: '/d' }).mounts, [{ type: 'bind', target: '/d', readOnly: true }]);
  assert.deepEqual(run('RUN --mount=type=tmpfs,destination=/tmp make').mounts, [{ type: 'tmpfs', target: '/tmp', readOnly: false }]);
  assert.equal(run('RUN --mount=type=tmpfs,target=/a --mount=type=tmpfs,target=/b make').mounts.length, 2);

  const options = run('RUN --network=none --security=insecure make');
  assert.deepEqual([options.network, options.security], ['none', 'insecure']);
  assert.equal(run('RUN --network=host make').network, 'host');
  assert.equal(run('RUN --network=default make').network, 'default');

  const cases: Array<[string, RegExp]> = [
    ['RUN --mount=type=cache make', /--mount=type=cache needs a target/],
    ['RUN --mount=type=secret,id=x make', /type=secret is not supported/],
    ['RUN --mount=type=volume,target=/x make', /type=volume is unknown/],
    ['RUN --mount=type=tmpfs,target=/x,size=1m make', /unknown or unsupported option "size"/],
    ['RUN --mount=type=cache,target=/x,source=y make', /option source does not apply to type=cache/],
    ['RUN --mount=type=bind,target=/x,id=y make', /option id does not apply to type=bind/],
    ['RUN --mount=type=cache,target=/x,sharing=sometimes make', /sharing=sometimes/],
    ['RUN --mount=type=cache,target=/x,uid=me make', /uid=me/],
    ['RUN --mount=type=cache,target=/x,mode=0800 make', /mode=0800/],
    ['RUN --mount=type=bind,target=/x,ro=maybe make', /ro=maybe/],
    ['RUN --mount=type=bind,target make', /"target" must be a key=value pair/],
    ['RUN --network=bridge make', /--network=bridge is not one of default, none, host/],
    ['RUN --security=root make', /--security=root is not one of sandbox, insecure/],
  ];
  for (const [line, message] of cases) assertUnresolvable(line, message);
});

test('HEALTHCHECK: the test as the config stores it, durations in nanoseconds, retries', () => {
  const healthcheck = (line: string) => (resolved(line) as { healthcheck: unknown }).healthcheck;
  assert.deepEqual(healthcheck('HEALTHCHECK NONE'), { test: ['NONE'], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 });
  assert.deepEqual(healthcheck('HEALTHCHECK CMD curl -f http://localhost/ || exit 1'), {
    test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'],
    interval: 0,
    timeout: 0,
    startPeriod: 0,
    startInterval: 0,
    retries: 0,
  });
  assert.deepEqual(
    healthcheck('HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s --start-interval=500ms --retries=3 CMD ["curl", "-f", "$URL"]'),
    { test: ['CMD', 'curl', '-f', '$URL'], interval: 30e9, timeout: 90e9, startPeriod: 1.5e9, startInterval: 500e6, retries: 3 },
  );
  assert.deepEqual(healthcheck('HEALTHCHECK --interval=1h2m3.5s --timeout=0 CMD true'), {
    test: ['CMD-SHELL', 'true'],
    interval: 3723.5e9,
    timeout: 0,
    startPeriod: 0,
    startInterval: 0,
    retries: 0,
  });
  assertUnresolvable('HEALTHCHECK --interval=30 CMD true', /--interval=30 is not a duration/);
  assertUnresolvable('HEALTHCHECK --timeout=-5s CMD true', /--timeout=-5s is not a duration/);
  assertUnresolvable('HEALTHCHECK --interval=$I CMD true', /--interval=\$I is not a duration/, { I: '5s' });
  assertUnresolvable('HEALTHCHECK --start-period=10us CMD true', /--start-period=10us is shorter than the minimum, 1ms/);
  assertUnresolvable('HEALTHCHECK --retries=-1 CMD true', /--retries=-1 is not a count/);
  assertUnresolvable('HEALTHCHECK --retries=two CMD true', /--retries=two is not a count/);
});

test('ONBUILD keeps its trigger as written, unexpanded, for the image config', () => {
  assert.deepEqual(resolved('ONBUILD RUN echo $X', { X: 'x' }), { line: 2, text: 'ONBUILD RUN echo $X', kind: 'ONBUILD', trigger: 'RUN echo $X' });
  assert.deepEqual(resolved('onbuild copy . /src'), { line: 2, text: 'onbuild copy . /src', kind: 'ONBUILD', trigger: 'copy . /src' });
});

test('resolving errors carry the instruction\'s line', () => {
  const [, , workdir] = body('RUN a', 'ENV A=1', 'WORKDIR ${DIR:?set DIR}');
  assertLineError(() => resolveInstruction(workdir!, {}, '\\'), 4, /DIR: set DIR/);
  assertLineError(() => resolveInstruction(body('COPY "unterminated /d')[0]!, {}, '\\'), 2, /matching double-quote/);
});
