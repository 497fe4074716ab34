import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { extract, pack } from 'tar-stream';
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

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
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

test('dockerode against Berth: build from a tar, files in and out of a container (put, stat, get, export), stats, update, save and load', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon'] })) return;
  const suite = await startRuntime(t, IMAGE, {}, { volumes: true, builder: true });
  const socketPath = await startDockerApi(t, suite);
  const docker = new Docker({ socketPath });

  // A build from a tar context, followed to its end as programs do.
  const context = await tarOf({ Dockerfile: `FROM ${IMAGE}\nCOPY hello.txt /hello.txt\nRUN wc -c /hello.txt > /size\n`, 'hello.txt': 'hello from a tar\n' });
  const progress = await followProgress(docker, await docker.buildImage(Readable.from([context]), { t: 'from-tar:1' }));
  assert.ok(progress.some((message) => message.aux?.ID?.startsWith('sha256:')), JSON.stringify(progress));
  assert.ok(progress.some((message) => message.stream === 'Successfully tagged from-tar:1\n'));
  // A failed step is the stream's last message, an error, as Docker's: the client decides to fail.
  const failed = await followProgress(docker, await docker.buildImage(Readable.from([await tarOf({ Dockerfile: `FROM ${IMAGE}\nRUN exit 7\n` })]), { t: 'never:1' }));
  assert.match(failed.at(-1)?.error ?? '', /7/, JSON.stringify(failed.at(-1)));

  const container = await docker.createContainer({ Image: 'from-tar:1', Cmd: ['sleep', '100'] });
  await container.start();
  assert.equal((await readAll(await container.getArchive({ path: '/size' }))).includes('17 /hello.txt'), true);

  // putArchive, then the stat docker cp asks for (HEAD) and the file read back (GET).
  await container.putArchive(await tarOf({ 'put/note.txt': 'put there\n' }), { path: '/tmp' });
  const stat = await pathStat(socketPath, container.id, '/tmp/put');
  assert.equal(stat.name, 'put');
  assert.ok(stat.mode >= 2 ** 31, 'a directory, in Go file mode bits');
  assert.equal(await firstFileOf(await readAll(await container.getArchive({ path: '/tmp/put/note.txt' }))), 'put there\n');
  await assert.rejects(container.getArchive({ path: '/tmp/none' }), (err: { statusCode?: number }) => err.statusCode === 404);
  await assert.rejects(container.putArchive(await tarOf({ 'x': 'y' }), { path: '/tmp/put/note.txt' }), (err: { statusCode?: number }) => err.statusCode === 400, 'not a directory');
  const exported = await readAll(await container.export());
  assert.ok(exported.includes('tmp/put/note.txt'));

  const stats = (await container.stats({ stream: false })) as unknown as { pids_stats: { current: number }; memory_stats: { usage: number; limit: number }; cpu_stats: { cpu_usage: { total_usage: number } } };
  assert.ok(stats.pids_stats.current >= 1);
  assert.ok(stats.memory_stats.usage > 0);
  await container.update({ Memory: 48 * 1024 * 1024 });
  assert.equal((await container.inspect()).HostConfig.Memory, 48 * 1024 * 1024);
  await assert.rejects(container.update({ CpuShares: 100 }), (err: { statusCode?: number }) => err.statusCode === 400);
  await container.remove({ force: true });

  // save, remove, load.
  const saved = await readAll(await docker.getImage('from-tar:1').get());
  await docker.getImage('from-tar:1').remove();
  const loaded = await readAll((await docker.loadImage(Readable.from([saved]))) as unknown as NodeJS.ReadableStream);
  assert.match(loaded.toString(), /Loaded image: from-tar:1/);
  assert.ok((await docker.listImages()).some((image) => image.RepoTags?.includes('from-tar:1')));
});

/** What docker cp asks before it copies: HEAD on the archive, the stat in a header (base64 JSON). */
function pathStat(socketPath: string, id: string, path: string): Promise<{ name: string; mode: number }> {
  return new Promise((resolve, reject) => {
    request({ socketPath, method: 'HEAD', path: `/v1.41/containers/${id}/archive?path=${encodeURIComponent(path)}` }, (response) => {
      response.resume();
      const header = response.headers['x-docker-container-path-stat'];
      if (response.statusCode !== 200 || typeof header !== 'string') return reject(new Error(`HEAD ${path}: ${response.statusCode}`));
      resolve(JSON.parse(Buffer.from(header, 'base64').toString()) as { name: string; mode: number });
    })
      .once('error', reject)
      .end();
  });
}

/** A tar of the given files, as a Buffer. */
async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const archive = pack();
  for (const [name, content] of Object.entries(files)) archive.entry({ name, mode: 0o644 }, content);
  archive.finalize();
  return readAll(archive);
}

/** The content of a tar's first file. */
async function firstFileOf(tar: Buffer): Promise<string> {
  const reader = extract();
  const contents = new Promise<string>((resolve, reject) => {
    reader.on('entry', (header, stream, next) => {
      if (header.type !== 'file') {
        stream.resume();
        return next();
      }
      void readAll(stream).then((data) => resolve(data.toString()), reject);
    });
    reader.once('error', reject);
  });
  reader.end(tar);
  return contents;
}

type ProgressMessage = { stream?: string; aux?: { ID?: string }; error?: string };

/** Every JSON message of a build or pull stream, read as dockerode's followProgress reads them. */
function followProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<ProgressMessage[]> {
  return new Promise((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, output: ProgressMessage[]) => (err ? reject(err) : resolve(output))));
}
