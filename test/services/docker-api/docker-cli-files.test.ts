import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DOCKER_CLI, requireDockerCli, requirePrerequisites, runCommand, startDockerApi, startRegistry, startRuntime } from '../../support';

const IMAGE = 'busybox:docker-files';

test("Debian's docker CLI against Berth: build (args, .dockerignore, cache, -q, -f -, errors), cp both ways, export, commit, stats, update, save and load, push, builder prune", { timeout: 300_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon', 'docker-registry', 'tar'] })) return;
  if (!requireDockerCli(t)) return;
  const suite = await startRuntime(t, IMAGE, {}, { volumes: true, builder: true });
  const socket = await startDockerApi(t, suite);
  // The classic builder: Berth's API announces no BuildKit, and the variable says so to the client too.
  const env = { PATH: process.env.PATH, HOME: suite.stateDir, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '0' };
  const docker = (args: string[], input?: string) => runCommand(DOCKER_CLI, args, env, 60_000, input);
  const ok = async (args: string[], input?: string) => {
    const result = await docker(args, input);
    assert.equal(result.code, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  const work = join(suite.stateDir, 'docker-cli-files');

  // build: a context with an ignored file, a build argument, a COPY and a RUN.
  const context = join(work, 'context');
  mkdirSync(context, { recursive: true });
  writeFileSync(join(context, 'greeting.txt'), 'from the context\n');
  writeFileSync(join(context, 'secret.txt'), 'never sent\n');
  writeFileSync(join(context, '.dockerignore'), 'secret.txt\n');
  const dockerfile = [`FROM ${IMAGE}`, 'ARG GREETING=hi', 'COPY . /app/', 'RUN echo "$GREETING built" > /built.txt', 'LABEL made=by-docker-cli', 'CMD ["cat", "/built.txt", "/app/greeting.txt"]', ''].join('\n');
  writeFileSync(join(context, 'Dockerfile'), dockerfile);
  const built = await ok(['build', '-t', 'built:1', '--build-arg', 'GREETING=hello', context]);
  assert.match(built, /^Step 1\/6 : FROM busybox:docker-files$/m);
  assert.match(built, /^Successfully built [0-9a-f]{12}$/m);
  assert.match(built, /^Successfully tagged built:1$/m);
  assert.equal(await ok(['run', '--rm', 'built:1']), 'hello built\nfrom the context\n');
  assert.notEqual((await docker(['run', '--rm', 'built:1', 'ls', '/app/secret.txt'])).code, 0, '.dockerignore keeps secret.txt out');
  assert.equal((await ok(['inspect', '--format', '{{index .Config.Labels "made"}}', 'built:1'])).trim(), 'by-docker-cli');
  const rebuilt = await ok(['build', '-t', 'built:1', '--build-arg', 'GREETING=hello', context]);
  assert.equal(rebuilt.match(/Using cache/g)?.length, 5, rebuilt);
  const quiet = await ok(['build', '-q', '--build-arg', 'GREETING=hello', context]);
  assert.match(quiet.trim(), /^sha256:[0-9a-f]{64}$/);
  await ok(['build', '-t', 'built:stdin', '-f', '-', context], `FROM ${IMAGE}\nRUN echo from stdin > /where\n`);
  assert.equal(await ok(['run', '--rm', 'built:stdin', 'cat', '/where']), 'from stdin\n');
  const broken = await docker(['build', '-f', '-', context], `FROM ${IMAGE}\nFROBNICATE everything\n`);
  assert.notEqual(broken.code, 0);
  assert.match(broken.stderr, /FROBNICATE/i);
  const refused = await docker(['build', '--memory', '64m', context]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /memory limit is not supported/);

  // cp in and out, export, stats and update on a running container.
  await ok(['run', '-d', '--name', 'files', IMAGE, 'sh', '-c', 'mkdir -p /d/sub && echo deep > /d/sub/f && echo top > /d/g && sleep 100']);
  writeFileSync(join(work, 'local.txt'), 'copied in\n');
  await ok(['cp', join(work, 'local.txt'), 'files:/tmp/']);
  assert.equal(await ok(['exec', 'files', 'cat', '/tmp/local.txt']), 'copied in\n');
  await ok(['cp', join(work, 'local.txt'), 'files:/tmp/renamed.txt']);
  assert.equal(await ok(['exec', 'files', 'cat', '/tmp/renamed.txt']), 'copied in\n');
  await ok(['cp', 'files:/d', join(work, 'out')]);
  assert.equal(readFileSync(join(work, 'out', 'sub', 'f'), 'utf8'), 'deep\n');
  await ok(['cp', 'files:/d/g', join(work, 'g-copy')]);
  assert.equal(readFileSync(join(work, 'g-copy'), 'utf8'), 'top\n');
  const missing = await docker(['cp', 'files:/no/such/path', join(work, 'x')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /no such|not found/i);

  await ok(['export', '-o', join(work, 'files.tar'), 'files']);
  const listing = await runCommand('tar', ['-tf', join(work, 'files.tar')], env);
  assert.match(listing.stdout, /^tmp\/local\.txt$/m);
  assert.match(listing.stdout, /^bin\/busybox$/m);

  assert.match(await ok(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}', 'files']), /^files \d[\d.]*\w?i?B \/ [\d.]+\w?i?B \d+$/m);
  await ok(['update', '--memory', '64m', '--restart', 'on-failure:3', 'files']);
  assert.equal((await ok(['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'files'])).trim(), `${64 * 1024 * 1024} on-failure:3`);
  assert.equal((await ok(['exec', 'files', 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'])).trim(), String(64 * 1024 * 1024));
  const shares = await docker(['update', '--cpu-shares', '512', 'files']);
  assert.notEqual(shares.code, 0);
  assert.match(shares.stderr, /CpuShares is not supported/);
  await ok(['exec', 'files', 'sh', '-c', 'echo committed > /made']);
  assert.match(await ok(['commit', '-c', 'CMD ["cat", "/made"]', 'files', 'committed:1']), /^sha256:[0-9a-f]{64}$/m);
  assert.equal(await ok(['run', '--rm', 'committed:1']), 'committed\n');
  await ok(['rm', '-f', 'files']);

  // save, remove, load: the image comes back with its name.
  await ok(['save', '-o', join(work, 'built.tar'), 'built:1']);
  await ok(['rmi', 'built:1']);
  assert.match(await ok(['load', '-i', join(work, 'built.tar')]), /Loaded image: built:1/);
  assert.equal(await ok(['run', '--rm', 'built:1']), 'hello built\nfrom the context\n');

  // push to a registry on loopback, then pull it back under that name.
  const registry = await startRegistry();
  t.after(() => registry.stop());
  const remote = `${registry.host}/test/built:1`;
  await ok(['tag', 'built:1', remote]);
  const pushed = await ok(['push', remote]);
  assert.match(pushed, new RegExp(`The push refers to repository \\[${registry.host}/test/built\\]`));
  assert.match(pushed, /^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
  await ok(['rmi', remote]);
  await ok(['pull', remote]);
  assert.equal(await ok(['run', '--rm', remote]), 'hello built\nfrom the context\n');

  // The build cache, pruned: the next build runs its steps again.
  assert.match(await ok(['builder', 'prune', '-f']), /^Total reclaimed space: [\d.]+\w*B$/m);
  assert.doesNotMatch(await ok(['build', '-t', 'built:1', '--build-arg', 'GREETING=hello', context]), /: (COPY|RUN) .*\n ---> Using cache/);
});
