import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { packTree } from '../../../libs/archive';
import { createClient } from '../../../libs/grpc';
import { builder } from '../../../libs/proto';
import { berth, berthOk, requirePrerequisites, startRuntime, streamEvents } from '../../support';

const BASE = 'busybox:build';
const PREREQUISITES = { root: true, programs: ['runc', 'conmon'] };

/** A build context directory with these files (content, or [content, mode]). */
function contextDir(t: TestContext, files: Record<string, string | [string, number]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-context-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, value] of Object.entries(files)) {
    const [content, mode] = typeof value === 'string' ? [value, 0o644] : value;
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
    chmodSync(join(dir, name), mode);
  }
  return dir;
}

interface InspectedImage {
  summary: { id: string; created: string };
  /** The OCI config as stored. */
  rawConfig: { config: Record<string, unknown> };
}

const inspectImage = async (env: NodeJS.ProcessEnv, image: string) => (JSON.parse(await berthOk(env, ['image', 'inspect', image])) as InspectedImage[])[0]!;

/** The run settings of the image's config as stored. */
const imageConfig = async (env: NodeJS.ProcessEnv, image: string) => (await inspectImage(env, image)).rawConfig.config;

test('a Dockerfile builds what Docker builds: files, modes, owners, links, whiteouts and every config field', { timeout: 240_000 }, async (t) => {
  if (!requirePrerequisites(t, PREREQUISITES)) return;
  // The image has a VOLUME: running it needs the volume service.
  const { env } = await startRuntime(t, BASE, {}, { builder: true, volumes: true });
  const dir = contextDir(t, {
    'app/hello.txt': ['hello from the context\n', 0o640],
    'app/run.sh': ['#!/bin/sh\necho run\n', 0o755],
    'app/debug.log': 'left out by .dockerignore\n',
    'secret.txt': 'never sent\n',
    '.dockerignore': '*.log\n**/*.log\nsecret.txt\n',
  });
  symlinkSync('hello.txt', join(dir, 'app', 'link'));
  mkdirSync(join(dir, 'archive', 'inner'), { recursive: true });
  writeFileSync(join(dir, 'archive', 'inner', 'file'), 'from the archive\n');
  execFileSync('tar', ['-czf', join(dir, 'files.tar.gz'), '-C', join(dir, 'archive'), '--owner=7', '--group=8', 'inner']);
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      'ARG BASE=busybox:none',
      'FROM ${BASE}',
      'ENV APP_HOME=/app GREETING="hello world"',
      'WORKDIR $APP_HOME',
      'COPY app/ ./',
      'COPY --chown=1000:1000 --chmod=0600 app/hello.txt /data/owned.txt',
      // Into what is a directory: the working directory as ".", and a directory the image has.
      'COPY files.tar.gz .',
      'COPY app/run.sh /tmp',
      'RUN echo "$GREETING" > greeting && \\',
      '    rm /etc/group',
      'ADD files.tar.gz /unpacked/',
      'LABEL org.example.name="demo app" version=1',
      'EXPOSE 8080 53/udp',
      'VOLUME /data',
      'USER 1000:1000',
      'STOPSIGNAL SIGINT',
      'HEALTHCHECK --interval=5s --retries=2 CMD ["true"]',
      'ENTRYPOINT ["/bin/sh", "-c"]',
      'CMD ["cat greeting"]',
      '',
    ].join('\n'),
  );
  const built = await berth(['build', '-t', 'app:1', '-t', 'app:latest', '--build-arg', `BASE=${BASE}`, '--label', 'extra=yes', dir], env, 180_000);
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stderr, /#1 \[0 1\/\d+\] FROM \$\{BASE\}/);
  assert.match(built.stderr, /naming to app:1 done/);

  const config = await imageConfig(env, 'app:1');
  assert.ok((config.Env as string[]).includes('APP_HOME=/app'));
  assert.ok((config.Env as string[]).includes('GREETING=hello world'));
  assert.equal(config.WorkingDir, '/app');
  assert.equal(config.User, '1000:1000');
  assert.deepEqual(config.ExposedPorts, { '8080/tcp': {}, '53/udp': {} });
  assert.deepEqual(config.Volumes, { '/data': {} });
  assert.deepEqual(config.Labels, { 'org.example.name': 'demo app', version: '1', extra: 'yes' });
  assert.equal(config.StopSignal, 'SIGINT');
  assert.deepEqual(config.Healthcheck, { Test: ['CMD', 'true'], Interval: 5_000_000_000, Retries: 2 });
  assert.deepEqual(config.Entrypoint, ['/bin/sh', '-c']);
  assert.deepEqual(config.Cmd, ['cat greeting']);

  assert.equal(await berthOk(env, ['run', '--rm', 'app:1']), 'hello world\n');
  const listing = await berthOk(env, [
    'run', '--rm', '-u', '0', 'app:1',
    'for f in /app/hello.txt /app/run.sh /data/owned.txt /unpacked/inner/file /tmp/run.sh; do stat -c "%n %a %u:%g" $f; done; readlink /app/link; ls /app; test -e /etc/group || echo group-gone',
  ]);
  assert.deepEqual(listing.trim().split('\n'), [
    '/app/hello.txt 640 0:0',
    '/app/run.sh 755 0:0',
    '/data/owned.txt 600 1000:1000',
    '/unpacked/inner/file 644 7:8',
    '/tmp/run.sh 755 0:0',
    'hello.txt',
    'files.tar.gz',
    'greeting',
    'hello.txt',
    'link',
    'run.sh',
    'group-gone',
  ]);

  const history = JSON.parse(await berthOk(env, ['history', '--format', 'json', '--no-trunc', 'app:1'])) as unknown;
  assert.match(JSON.stringify(history), /RUN \/bin\/sh -c echo/);
  const events = await streamEvents(env, 'image', 20);
  assert.ok(events.some((event) => event.action === 'build' && /app:1/.test(event.attributes.name ?? '')), JSON.stringify(events));
});

test('multi-stage builds only what the target needs; the cache hits on a rebuild and misses from the first change', { timeout: 240_000 }, async (t) => {
  if (!requirePrerequisites(t, PREREQUISITES)) return;
  const { env } = await startRuntime(t, BASE, {}, { builder: true });
  const dir = contextDir(t, {
    'input.txt': 'first input\n',
    Dockerfile: [
      `FROM ${BASE} AS compile`,
      'RUN echo compiled > /artifact',
      `FROM ${BASE} AS unused`,
      'RUN exit 1',
      `FROM ${BASE}`,
      'COPY --from=compile /artifact /artifact',
      'RUN echo step-a > /a',
      'COPY input.txt /input.txt',
      'RUN cat /input.txt /artifact > /out',
      'CMD ["cat", "/out"]',
      '',
    ].join('\n'),
  });
  const first = await berth(['build', '-t', 'multi:1', dir], env, 180_000);
  assert.equal(first.code, 0, first.stderr);
  assert.doesNotMatch(first.stderr, /RUN exit 1/, 'the unused stage is not built');
  assert.equal(await berthOk(env, ['run', '--rm', 'multi:1']), 'first input\ncompiled\n');
  const built = (await inspectImage(env, 'multi:1')).summary;
  assert.ok(Date.parse(built.created) > Date.parse((await inspectImage(env, BASE)).summary.created), 'a built image is as new as its last step, not its base');

  const again = await berth(['build', '-t', 'multi:1', dir], env, 60_000);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((again.stderr.match(/CACHED/g) ?? []).length, 6, again.stderr);
  assert.equal((await inspectImage(env, 'multi:1')).summary.id, built.id, 'the first cached rebuild gives the image the build gave');
  const id = (await berthOk(env, ['build', '-q', '-t', 'multi:1', dir])).trim();
  assert.equal(id, (await inspectImage(env, 'multi:1')).summary.id, 'the same image');

  writeFileSync(join(dir, 'input.txt'), 'second input\n');
  const changed = await berth(['build', '-t', 'multi:2', dir], env, 180_000);
  assert.equal(changed.code, 0, changed.stderr);
  const stepResult = (instruction: string) => {
    const step = new RegExp(`#(\\d+) \\[[^\\]]+\\] ${instruction.replace(/[.*[\]/]/g, '\\$&')}`).exec(changed.stderr)?.[1];
    return new RegExp(`#${step} (CACHED|DONE)`).exec(changed.stderr)?.[1];
  };
  assert.equal(stepResult('RUN echo compiled > /artifact'), 'CACHED');
  assert.equal(stepResult('RUN echo step-a > /a'), 'CACHED');
  assert.equal(stepResult('COPY input.txt /input.txt'), 'DONE');
  assert.equal(stepResult('RUN cat /input.txt /artifact > /out'), 'DONE');
  assert.equal(await berthOk(env, ['run', '--rm', 'multi:2']), 'second input\ncompiled\n');

  const target = await berth(['build', '-q', '--target', 'compile', '-t', 'compile:only', dir], env, 60_000);
  assert.equal(target.code, 0, target.stderr);
  assert.equal(await berthOk(env, ['run', '--rm', 'compile:only', 'cat', '/artifact']), 'compiled\n');

  const noCache = await berth(['build', '--no-cache', '-t', 'multi:3', dir], env, 180_000);
  assert.equal(noCache.code, 0, noCache.stderr);
  assert.doesNotMatch(noCache.stderr, /CACHED/);

  assert.match(await berthOk(env, ['builder', 'prune']), /Total reclaimed space/);
  assert.equal(await berthOk(env, ['run', '--rm', 'multi:2']), 'second input\ncompiled\n', 'a built image outlives the cache');
});

test('a failing RUN reports its code and output and leaves nothing behind; a malformed Dockerfile names its line', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, PREREQUISITES)) return;
  const { env, stateDir } = await startRuntime(t, BASE, {}, { builder: true });
  const failing = contextDir(t, { Dockerfile: `FROM ${BASE}\nRUN echo before\nRUN echo boom >&2 && exit 3\n` });
  const result = await berth(['build', '-t', 'broken:1', failing], env, 60_000);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /boom/);
  assert.match(result.stderr, /line 3: RUN echo boom >&2 && exit 3: the command returned a non-zero code: 3/);
  assert.equal((await berthOk(env, ['ps', '-a', '-q'])).trim(), '', 'no container is left');
  assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(`${stateDir}/containers`), 'no mount is left');
  assert.equal((await berth(['image', 'inspect', 'broken:1'], env)).code, 1);

  const malformed = contextDir(t, { Dockerfile: `FROM ${BASE}\n\nFORM oops\n` });
  const refused = await berth(['build', malformed], env, 60_000);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /Dockerfile line 3: unknown instruction: FORM/i);

  const missing = contextDir(t, { Dockerfile: `FROM ${BASE}\nCOPY nothing-here /x\n` });
  const notThere = await berth(['build', missing], env, 60_000);
  assert.equal(notThere.code, 1);
  assert.match(notThere.stderr, /line 2: COPY nothing-here: no such file in the build context/);
});

test('a rebuild receives only what changed in the context, and builds from what the directory holds now; a tar works too', { timeout: 240_000 }, async (t) => {
  if (!requirePrerequisites(t, PREREQUISITES)) return;
  const { env, stateDir, services } = await startRuntime(t, BASE, {}, { builder: true });
  const dir = contextDir(t, {
    'keep.txt': 'kept\n',
    'change.txt': 'before\n',
    'gone.txt': 'gone\n',
    'becomes-dir': 'a file\n',
    'sub/inner.txt': 'inner\n',
    Dockerfile: `FROM ${BASE}\nCOPY . /ctx\nRUN cd /ctx && find . | sort > /listing\n`,
  });
  const listing = async (tag: string) => berthOk(env, ['run', '--rm', tag, 'cat', '/listing']);
  await berthOk(env, ['build', '-q', '-t', 'sync:1', dir]);
  const contexts = join(stateDir, 'builder', 'contexts');
  const kept = join(contexts, readdirSync(contexts).find((name) => !name.endsWith('.json'))!, 'context');
  const keptInode = statSync(join(kept, 'keep.txt')).ino;

  writeFileSync(join(dir, 'change.txt'), 'after, longer\n');
  rmSync(join(dir, 'gone.txt'));
  rmSync(join(dir, 'becomes-dir'));
  mkdirSync(join(dir, 'becomes-dir'));
  writeFileSync(join(dir, 'becomes-dir', 'child.txt'), 'child\n');
  symlinkSync('keep.txt', join(dir, 'link'));
  writeFileSync(join(dir, '.dockerignore'), 'sub\n');
  await berthOk(env, ['build', '-q', '-t', 'sync:2', dir]);
  assert.equal(statSync(join(kept, 'keep.txt')).ino, keptInode, 'an unchanged file is not sent again');
  assert.equal(await listing('sync:2'), ['.', './.dockerignore', './Dockerfile', './becomes-dir', './becomes-dir/child.txt', './change.txt', './keep.txt', './link', ''].join('\n'));
  assert.equal(await berthOk(env, ['run', '--rm', 'sync:2', 'cat', '/ctx/change.txt', '/ctx/link']), 'after, longer\nkept\n');
  assert.equal(existsSync(join(kept, 'sub', 'inner.txt')), false, 'what .dockerignore now leaves out is gone from the kept context');

  // Two builds of one directory at once: the second receives its context whole, in its own directory.
  const both = await Promise.all([berth(['build', '-q', '-t', 'sync:3', dir], env, 120_000), berth(['build', '-q', '--no-cache', '-t', 'sync:4', dir], env, 120_000)]);
  for (const result of both) assert.equal(result.code, 0, result.stderr);
  assert.equal(await listing('sync:4'), await listing('sync:2'));

  // Through the API, the context may come as one tar with no key.
  const client = createClient(builder.BuilderServiceClient, services.builder!.endpoint, { deadlineMs: 60_000 });
  t.after(() => client.close());
  const call = client.build({ deadline: Infinity });
  const options = { dockerfile: '', dockerfileContent: '', tags: ['sync:tar'], buildArgs: {}, target: '', noCache: false, platform: '', labels: {}, network: '', contextKey: '' };
  call.write({ options, context: Buffer.alloc(0), manifest: undefined });
  for await (const chunk of packTree(dir, '')) call.write({ options: undefined, context: chunk as Buffer, manifest: undefined });
  call.end();
  let result: builder.BuildResult | undefined;
  for await (const response of call as AsyncIterable<builder.BuildResponse>) if (response.event?.$case === 'result') result = response.event.value;
  assert.deepEqual(result?.tags, ['sync:tar']);
  assert.equal(await listing('sync:tar'), await listing('sync:2'));
});
