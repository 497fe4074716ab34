import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCa, issueCertificate } from '../../../libs/pki';
import { buildImage, DOCKER_CLI, eventually, freePort, requireDockerCli, requirePrerequisites, runCommand, seedRegistry, startDockerApi, startRegistry, startRuntime } from '../../support';

const IMAGE = 'busybox:docker-cli';

test("Debian's docker CLI against Berth: version, run (foreground, --rm, exit codes, -d), ps, logs, exec, top, diff, history, stop, rm, images, pull, image prune, events, volume and network verbs, TCP with mutual TLS", { timeout: 240_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon', 'docker-registry', 'skopeo'] })) return;
  if (!requireDockerCli(t)) return;
  const suite = await startRuntime(t, IMAGE, {}, { volumes: true });
  const socket = await startDockerApi(t, suite);
  const env = { PATH: process.env.PATH, HOME: suite.stateDir, DOCKER_HOST: `unix://${socket}` };
  const docker = (...args: string[]) => runCommand(DOCKER_CLI, args, env, 60_000);
  const ok = async (...args: string[]) => {
    const result = await docker(...args);
    assert.equal(result.code, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };

  assert.equal((await ok('version', '--format', '{{.Server.APIVersion}}')).trim(), '1.41');

  // run in the foreground: output as it comes, the exit code as the command's.
  assert.equal(await ok('run', '--rm', IMAGE, 'echo', 'hello from docker'), 'hello from docker\n');
  const failed = await docker('run', '--name', 'three', IMAGE, 'sh', '-c', 'echo err >&2; exit 3');
  assert.equal(failed.code, 3);
  assert.equal(failed.stderr, 'err\n');
  await ok('rm', 'three');

  // A detached server: ps, logs, exec, stop, rm.
  const id = (await ok('run', '-d', '--name', 'web', '-l', 'role=web', IMAGE, 'sh', '-c', 'echo serving; sleep 100')).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal((await ok('ps', '--filter', 'label=role=web', '--format', '{{.Names}} {{.Image}}')).trim(), `web ${IMAGE}`);
  assert.equal(await ok('logs', 'web'), 'serving\n');
  assert.equal(await ok('exec', 'web', 'sh', '-c', 'echo inside $((6*7))'), 'inside 42\n');
  assert.equal((await docker('exec', 'web', 'sh', '-c', 'exit 5')).code, 5);
  // A detached exec runs on after the client has its answer.
  await ok('exec', '-d', 'web', 'sh', '-c', 'sleep 0.2; echo detached > /detached');
  assert.equal(await eventually(async () => ((await docker('exec', 'web', 'cat', '/detached')).stdout || undefined), 10_000, 'the detached exec'), 'detached\n');
  assert.equal((await ok('inspect', '--format', '{{.State.Status}}', 'web')).trim(), 'running');
  assert.match(await ok('top', 'web'), /sleep 100/);
  await ok('exec', 'web', 'touch', '/made-here');
  assert.match(await ok('diff', 'web'), /^A \/made-here$/m);
  assert.match(await ok('history', IMAGE), /IMAGE\s+CREATED\s+CREATED BY/);
  await ok('stop', '-t', '1', 'web');
  assert.equal((await ok('ps', '-a', '--filter', 'name=web', '--format', '{{.State}}')).trim(), 'exited');
  await ok('rm', 'web');
  const missing = await docker('rm', 'web');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /web/);

  assert.match(await ok('images', '--format', '{{.Repository}}:{{.Tag}}'), /busybox:docker-cli/);

  await ok('volume', 'create', 'cli-volume');
  assert.match(await ok('volume', 'ls', '-q'), /cli-volume/);
  assert.equal(await ok('run', '--rm', '-v', 'cli-volume:/data', IMAGE, 'sh', '-c', 'echo kept > /data/f && cat /data/f'), 'kept\n');
  await ok('volume', 'rm', 'cli-volume');

  // pull from a registry on loopback, with Docker's progress lines.
  const registry = await startRegistry();
  t.after(() => registry.stop());
  seedRegistry(t, registry.host, 'test/app:1', [await buildImage({ os: 'linux', architecture: 'amd64' })]);
  const pulled = await ok('pull', `${registry.host}/test/app:1`);
  assert.match(pulled, /Digest: sha256:[0-9a-f]{64}/);
  assert.match(await ok('images', '--format', '{{.Repository}}:{{.Tag}}'), new RegExp(`${registry.host}/test/app:1`));
  const badPull = await docker('pull', `${registry.host}/test/missing:1`);
  assert.notEqual(badPull.code, 0);
  // No container uses the pulled image: prune -a takes it.
  assert.match(await ok('image', 'prune', '-a', '-f'), /Total reclaimed space/);
  assert.doesNotMatch(await ok('images', '--format', '{{.Repository}}:{{.Tag}}'), new RegExp(`${registry.host}/test/app:1`));

  // events: what happened above, replayed from the start of the stream up to now.
  const actions = (await ok('events', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000)), '--filter', 'container=web', '--format', '{{.Type}} {{.Action}}')).trim().split('\n');
  for (const action of ['container create', 'container start', 'container die', 'container destroy']) assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);
  // An image by the name people give it: its own events (stored under docker.io/library/...) and its containers'.
  const byImage = (await ok('events', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000)), '--filter', `image=${IMAGE}`, '--format', '{{.Type}} {{.Action}}')).trim().split('\n');
  assert.ok(byImage.some((line) => line.startsWith('image ')) && byImage.includes('container create'), byImage.join(', '));

  await ok('network', 'create', 'cli-net');
  assert.match(await ok('network', 'ls', '--format', '{{.Name}}'), /cli-net/);
  await ok('network', 'rm', 'cli-net');

  // Over TCP with mutual TLS, as `docker --tlsverify` speaks it: a client of the CA is served; one
  // without a certificate, or with one of another CA, is not.
  const pki = join(suite.stateDir, 'docker-pki');
  createCa(pki, { days: 1 });
  const server = issueCertificate(pki, 'docker-api', { kind: 'node', addresses: ['127.0.0.1'], days: 1 });
  const port = await freePort();
  await startDockerApi(t, suite, {
    BERTH_DOCKER_API_SOCKET: join(suite.runDir, 'docker-tls.sock'),
    BERTH_DOCKER_API_LISTEN: `127.0.0.1:${port}`,
    BERTH_TLS_CA: join(pki, 'ca.crt'),
    BERTH_TLS_CERT: server.cert,
    BERTH_TLS_KEY: server.key,
  });
  const certPath = (name: string, ca: string) => {
    const client = issueCertificate(pki, name, { kind: 'client', days: 1, ca });
    const dir = join(pki, `${name}-docker`);
    mkdirSync(dir);
    copyFileSync(join(pki, `${ca}.crt`), join(dir, 'ca.pem'));
    copyFileSync(client.cert, join(dir, 'cert.pem'));
    copyFileSync(client.key, join(dir, 'key.pem'));
    return dir;
  };
  const overTcp = (dir: string, ...args: string[]) => runCommand(DOCKER_CLI, args, { ...env, DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir }, 60_000);
  const ops = certPath('ops', 'ca');
  const trusted = await overTcp(ops, 'volume', 'create', 'over-tls');
  assert.equal(trusted.code, 0, trusted.stderr);
  assert.equal((await overTcp(ops, 'volume', 'ls', '--format', '{{.Name}}')).stdout, 'over-tls\n');
  createCa(pki, { name: 'other-ca', days: 1 });
  const stranger = certPath('stranger', 'other-ca');
  copyFileSync(join(pki, 'ca.crt'), join(stranger, 'ca.pem'));
  assert.notEqual((await overTcp(stranger, 'version')).code, 0, 'a certificate of another CA is refused');
  const plain = await runCommand(DOCKER_CLI, ['version'], { ...env, DOCKER_HOST: `tcp://127.0.0.1:${port}` }, 60_000);
  assert.notEqual(plain.code, 0, 'a client without TLS is refused');
});
