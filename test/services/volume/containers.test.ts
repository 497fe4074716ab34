import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { berth, berthOk, eventually, requirePrerequisites, startRuntime, streamEvents } from '../../support';

const IMAGE = 'busybox:volumes';
const PREREQUISITES = { root: true, programs: ['runc', 'conmon'] };

const volumeJson = async (env: NodeJS.ProcessEnv, name: string) =>
  (JSON.parse(await berthOk(env, ['volume', 'inspect', name])) as Array<{ Name: string; Mountpoint: string; UsageData: { RefCount: number } }>)[0]!;
const volumeNames = async (env: NodeJS.ProcessEnv) => (await berthOk(env, ['volume', 'ls', '-q'])).split('\n').filter(Boolean).sort();

test('data outlives its container: a new container finds it; read-only mounts; two containers share one volume', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, PREREQUISITES)) return;
  const { env, stateDir } = await startRuntime(t, IMAGE, {}, { volumes: true });
  const backup = join(stateDir, 'shared.tar');

  // The replace-the-container story, with a volume that -v creates.
  await berthOk(env, ['run', '--name', 'app-v1', '-v', 'appdata:/data', IMAGE, 'sh', '-c', 'echo written by v1 > /data/state && chown 1000:1000 /data/state']);
  await berthOk(env, ['rm', 'app-v1']);
  assert.equal(await berthOk(env, ['run', '--rm', '--name', 'app-v2', '-v', 'appdata:/data', IMAGE, 'cat', '/data/state']), 'written by v1\n');
  const appdata = await volumeJson(env, 'appdata');
  assert.equal(lstatSync(join(appdata.Mountpoint, 'state')).uid, 1000, 'owners as the container set them');
  assert.equal(appdata.UsageData.RefCount, 0, 'no container uses it once they are removed');

  const readOnly = await berth(['run', '--rm', '-v', 'appdata:/data:ro', IMAGE, 'sh', '-c', 'echo x > /data/state'], env);
  assert.notEqual(readOnly.code, 0);
  assert.match(readOnly.stderr, /Read-only file system/);
  assert.equal(readFileSync(join(appdata.Mountpoint, 'state'), 'utf8'), 'written by v1\n');

  // Two running containers see each other's writes.
  await berthOk(env, ['run', '-d', '--name', 'writer', '--mount', 'type=volume,source=shared,target=/s', IMAGE, 'sh', '-c', 'echo hello > /s/msg; sleep 60']);
  await eventually(async () => ((await berth(['run', '--rm', '-v', 'shared:/s', IMAGE, 'cat', '/s/msg'], env)).stdout === 'hello\n' ? true : undefined), 10_000, 'the reader to see the message');

  // A volume in use stays: refused while a container runs with it, even by force, and while a stopped one uses it.
  const running = await berth(['volume', 'rm', '-f', 'shared'], env);
  assert.equal(running.code, 1);
  assert.match(running.stderr, /volume shared is in use by running container\(s\) [0-9a-f]{12}: stop them first/);
  const exported = await berth(['volume', 'export', 'shared', '-o', backup], env);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stderr, /in use by running container\(s\) [0-9a-f]{12}: the export may not be consistent unless they are paused/);
  await berthOk(env, ['stop', '-t', '1', 'writer']);
  const stopped = await berth(['volume', 'rm', 'shared'], env);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /in use by container\(s\) [0-9a-f]{12}: remove them first, or force/);

  // prune keeps what a container uses; --all takes unused named volumes.
  await berthOk(env, ['volume', 'create', 'spare']);
  const pruned = await berthOk(env, ['volume', 'prune', '--all', '--force']);
  assert.match(pruned, /spare/);
  assert.match(pruned, /appdata/);
  assert.deepEqual(await volumeNames(env), ['shared']);
  await berthOk(env, ['rm', 'writer']);
  await berthOk(env, ['volume', 'rm', 'shared']);

  // Backup and restore through the command line.
  await berthOk(env, ['volume', 'import', 'restored', backup]);
  assert.equal(await berthOk(env, ['run', '--rm', '-v', 'restored:/s', IMAGE, 'cat', '/s/msg']), 'hello\n');

  const events = await streamEvents(env, 'volume', 4);
  assert.deepEqual(events.slice(0, 4).map((e) => e.action), ['create', 'mount', 'unmount', 'mount']);
  assert.match(events[1]!.attributes.container ?? '', /^[0-9a-f]{64}$/);
});

test('copy-up from the image, anonymous volumes for VOLUME paths (gone with rm -v), tmpfs volumes vanish on unmount', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, PREREQUISITES)) return;
  const { env, stateDir } = await startRuntime(t, IMAGE, {}, { volumes: true });

  await berthOk(env, ['run', '--name', 'maker', IMAGE, 'sh', '-c', 'mkdir -p /srv/site && echo hello > /srv/site/index.html && chown -R 33:33 /srv/site && chmod 750 /srv/site']);
  await berthOk(env, ['commit', '--change', 'VOLUME /srv', 'maker', 'site:1']);

  // The image's VOLUME gets an anonymous volume, filled from the image with owners and modes.
  await berthOk(env, ['run', '--name', 'web1', 'site:1', 'true']);
  const mounts = (JSON.parse(await berthOk(env, ['inspect', 'web1'])) as Array<{ Mounts: Array<{ Type: string; Name: string; Source: string; Destination: string }> }>)[0]!.Mounts;
  assert.equal(mounts.length, 1);
  assert.equal(mounts[0]!.Type, 'volume');
  assert.match(mounts[0]!.Name, /^[0-9a-f]{64}$/);
  assert.equal(mounts[0]!.Destination, '/srv');
  const site = join(mounts[0]!.Source, 'site');
  assert.equal(readFileSync(join(site, 'index.html'), 'utf8'), 'hello\n');
  assert.equal(lstatSync(site).uid, 33);
  assert.equal(lstatSync(site).mode & 0o7777, 0o750);

  // A named volume over the same path is filled too; rm -v takes anonymous volumes and leaves named ones.
  await berthOk(env, ['run', '--name', 'web2', '-v', 'named-site:/srv', 'site:1', 'true']);
  assert.equal(readFileSync(join((await volumeJson(env, 'named-site')).Mountpoint, 'site', 'index.html'), 'utf8'), 'hello\n');
  await berthOk(env, ['rm', '-v', 'web1', 'web2']);
  assert.ok(!existsSync(mounts[0]!.Source), 'the anonymous volume is gone');
  assert.deepEqual(await volumeNames(env), ['named-site']);

  // volume-nocopy leaves a new volume empty.
  assert.equal(await berthOk(env, ['run', '--rm', '--mount', 'type=volume,src=bare,dst=/srv,volume-nocopy', 'site:1', 'ls', '-A', '/srv']), '');

  // A tmpfs volume keeps its content while a container has it mounted, and loses it after.
  await berthOk(env, ['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=8m', 'scratch']);
  assert.equal(await berthOk(env, ['run', '--rm', '-v', 'scratch:/scratch', IMAGE, 'sh', '-c', 'echo x > /scratch/f && ls /scratch']), 'f\n');
  assert.equal(await berthOk(env, ['run', '--rm', '-v', 'scratch:/scratch', IMAGE, 'ls', '-A', '/scratch']), '');
  const scratch = await volumeJson(env, 'scratch');
  assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(` ${scratch.Mountpoint} `), 'unmounted once no container runs with it');

  // Bad names are refused clearly; a host directory is made by -v, as Docker does, never by --mount.
  const bad = await berth(['run', '--rm', '-v', 'bad name:/x', IMAGE, 'true'], env);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid volume name "bad name"/);
  const missing = join(stateDir, 'made-by-v');
  const refused = await berth(['run', '--rm', '--mount', `type=bind,src=${missing},dst=/x`, IMAGE, 'true'], env);
  assert.equal(refused.code, 125);
  assert.match(refused.stderr, /bind mount source .* does not exist/);
  assert.ok(!existsSync(missing));
  await berthOk(env, ['run', '--rm', '-v', `${missing}:/x`, IMAGE, 'touch', '/x/file']);
  assert.ok(existsSync(join(missing, 'file')));
});
