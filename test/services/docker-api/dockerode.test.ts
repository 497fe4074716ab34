import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import Docker from 'dockerode';
import { eventually, requirePrerequisites, startDockerApi, startRuntime } from '../../support';

const IMAGE = 'busybox:docker-api';

test('dockerode against Berth: ping, version, a container from create to removal with its logs, exec, attach as docker run does, images, volumes, networks, Docker errors', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon'] })) return;
  const suite = await startRuntime(t, IMAGE, {}, { volumes: true });
  const socketPath = await startDockerApi(t, suite);
  assert.equal(statSync(socketPath).mode & 0o777, 0o600, 'root only');
  const docker = new Docker({ socketPath });

  assert.equal(String(await docker.ping()), 'OK');
  const version = await docker.version();
  assert.equal(version.ApiVersion, '1.41');
  assert.equal(version.Os, 'linux');

  // A container's life, as a program drives it.
  const container = await docker.createContainer({
    name: 'greeter',
    Image: IMAGE,
    Cmd: ['sh', '-c', 'echo hello from berth; echo oops >&2; sleep 100'],
    Labels: { app: 'greeter' },
    HostConfig: { Binds: ['greeting:/data'] },
  });
  await container.start();
  const inspected = await container.inspect();
  assert.equal(inspected.State.Running, true);
  assert.equal(inspected.Name, '/greeter');
  assert.equal(inspected.Config.Labels.app, 'greeter');
  const listed = await docker.listContainers({ filters: { label: ['app=greeter'] } });
  assert.deepEqual(listed.map((c) => c.Names), [['/greeter']]);
  assert.equal(listed[0]!.State, 'running');

  // Logs in Docker's multiplexed format, each stream to its own side.
  const logs = await eventually(async () => {
    const raw = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return raw.length > 0 && raw.includes('oops') ? raw : undefined;
  }, 10_000, 'the logs');
  assert.deepEqual(byStream(logs), { 1: 'hello from berth\n', 2: 'oops\n' });

  // exec, as docker exec runs it: create, start with the connection taken over, inspect for the code.
  const exec = await container.exec({ Cmd: ['sh', '-c', 'echo in-exec; echo to-err >&2; exit 3'], AttachStdout: true, AttachStderr: true });
  const execStream = await exec.start({ hijack: true, stdin: false });
  assert.deepEqual(byStream(await readAll(execStream)), { 1: 'in-exec\n', 2: 'to-err\n' });
  const execInfo = await eventually(async () => {
    const info = await exec.inspect();
    return info.Running ? undefined : info;
  }, 5_000, 'the exec to end');
  assert.equal(execInfo.ExitCode, 3);

  await container.stop({ t: 1 });
  const waited = await container.wait();
  assert.equal(waited.StatusCode, 137);
  assert.equal((await container.inspect()).State.Status, 'exited');

  // Docker's error bodies and statuses.
  await assert.rejects(docker.createContainer({ name: 'greeter', Image: IMAGE }), (err: { statusCode?: number; json?: { message?: string } }) => {
    assert.equal(err.statusCode, 409);
    assert.match(err.json?.message ?? '', /greeter/);
    return true;
  });
  await assert.rejects(docker.getContainer('no-such-container').inspect(), (err: { statusCode?: number }) => err.statusCode === 404);
  await assert.rejects(docker.createContainer({ Image: IMAGE, HostConfig: { CapAdd: ['NET_ADMIN'] } }), (err: { statusCode?: number; json?: { message?: string } }) => {
    assert.equal(err.statusCode, 400);
    assert.match(err.json?.message ?? '', /HostConfig.CapAdd is not supported/);
    return true;
  });
  await assert.rejects(docker.getVolume('greeting').remove(), (err: { statusCode?: number }) => err.statusCode === 409, 'a volume in use is a conflict');

  await container.remove({ v: true });
  await assert.rejects(container.inspect(), (err: { statusCode?: number }) => err.statusCode === 404);

  // What docker run does in the foreground: attach, wait for the next exit, start, read to the end.
  const runner = await docker.createContainer({ Image: IMAGE, Cmd: ['sh', '-c', 'echo attached out; echo attached err >&2; exit 4'] });
  const attached = await runner.attach({ stream: true, stdout: true, stderr: true, hijack: true });
  const exited = runner.wait({ condition: 'next-exit' });
  await runner.start();
  assert.deepEqual(byStream(await readAll(attached)), { 1: 'attached out\n', 2: 'attached err\n' });
  assert.equal((await exited).StatusCode, 4);
  await runner.remove();

  // Images, volumes and networks.
  const images = await docker.listImages();
  assert.ok(images.some((image) => image.RepoTags?.includes(IMAGE)));
  await docker.getImage(IMAGE).tag({ repo: 'busybox', tag: 'again' });
  assert.ok((await docker.listImages()).some((image) => image.RepoTags?.includes('busybox:again')));
  await docker.getImage('busybox:again').remove();

  await docker.createVolume({ Name: 'made-by-dockerode', Labels: { by: 'dockerode' } });
  const created = await docker.getVolume('made-by-dockerode').inspect();
  assert.deepEqual([created.Name, created.Labels], ['made-by-dockerode', { by: 'dockerode' }]);
  const volumes = await docker.listVolumes();
  assert.deepEqual(volumes.Volumes.map((v) => v.Name).sort(), ['greeting', 'made-by-dockerode']);
  await docker.getVolume('made-by-dockerode').remove();
  await docker.getVolume('greeting').remove();

  const network = await docker.createNetwork({ Name: 'dockerode-net', Labels: { by: 'dockerode' } });
  const networkInfo = (await network.inspect()) as { Name: string; IPAM: { Config: Array<{ Subnet: string }> } };
  assert.equal(networkInfo.Name, 'dockerode-net');
  assert.match(networkInfo.IPAM.Config[0]!.Subnet, /^\d+\.\d+\.\d+\.0\/24$/);
  assert.ok((await docker.listNetworks()).some((n) => n.Name === 'dockerode-net'));
  await network.remove();
  await assert.rejects(docker.getNetwork('dockerode-net').inspect(), (err: { statusCode?: number }) => err.statusCode === 404);
});

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** What Docker's multiplexed stream carried, by stream (1 stdout, 2 stderr): the two are not ordered between each other. */
function byStream(raw: Buffer): Record<number, string> {
  const streams: Record<number, string> = {};
  for (let offset = 0; offset + 8 <= raw.length; ) {
    const length = raw.readUInt32BE(offset + 4);
    streams[raw[offset]!] = (streams[raw[offset]!] ?? '') + raw.subarray(offset + 8, offset + 8 + length).toString();
    offset += 8 + length;
  }
  return streams;
}
