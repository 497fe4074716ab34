import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { runtime } from '../../../libs/proto';
import { berth, berthOk, rejectsWith, requirePrerequisites, startRuntime, streamEvents } from '../../support';

const RUNTIME = { root: true, programs: ['runc', 'conmon'] };

test('diff and commit: the writable layer becomes an image that runs with the changes', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const { env } = await startRuntime(t);
  await berthOk(env, ['run', '-d', '--name', 'maker', '-e', 'STAGE=built', 'busybox:test', 'sleep', '1000']);
  await berthOk(env, ['exec', 'maker', 'sh', '-c', 'mkdir /app && echo v2 > /app/version && rm /bin/ls && echo extra >> /etc/group']);
  assert.equal(await berthOk(env, ['diff', 'maker']), 'A /app\nA /app/version\nC /bin\nD /bin/ls\nC /etc\nC /etc/group\n');

  const imageId = (await berthOk(env, ['commit', '-m', 'first release', '-c', 'CMD ["cat", "/app/version"]', 'maker', 'made:1'])).trim();
  assert.match(imageId, /^sha256:[0-9a-f]{64}$/);
  assert.equal((await berthOk(env, ['inspect', '-f', '{{.State.Status}}', 'maker'])).trim(), 'running', 'the pause ended');
  assert.equal(await berthOk(env, ['run', '--rm', 'made:1']), 'v2\n', 'the new image runs its new command on its new layer');
  assert.equal(await berthOk(env, ['run', '--rm', 'made:1', 'sh', '-c', 'echo $STAGE; test -e /bin/ls || echo no-ls; tail -n 1 /etc/group']), 'built\nno-ls\nextra\n');
  const history = await berthOk(env, ['history', '--no-trunc', 'made:1']);
  assert.match(history, /sleep 1000.*first release/);
  const commit = (await streamEvents(env, 'container', 100, 3_000)).find((e) => e.action === 'commit');
  assert.equal(commit?.attributes.imageID, imageId);

  const inUse = await berth(['rmi', 'made:1'], env);
  assert.equal(inUse.code, 0, 'untagging while a container runs from another image is fine');
});

test('commit with remove: the container goes and its writable layer is the new layer, unpacked, whiteouts and all', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const { env, stateDir, call } = await startRuntime(t);
  const commit = (container: string) =>
    call<runtime.CommitResponse>((client, m, o, cb) =>
      client.commit({ container, reference: '', comment: '', author: '', changes: [], noPause: true, uncompressed: true, remove: true }, m, o, cb),
    );
  await berthOk(env, ['run', '-d', '--name', 'busy', 'busybox:test', 'sleep', '1000']);
  await rejectsWith(commit('busy'), 'failed_precondition', /it is running; stop it first/);

  await berthOk(env, ['run', '--name', 'step', 'busybox:test', 'sh', '-c', 'mkdir /out && echo made > /out/file && rm /bin/ls']);
  const { imageId } = await commit('step');
  assert.equal((await berth(['inspect', 'step'], env)).code, 1, 'the container is gone');
  const layers = readdirSync(join(stateDir, 'layers')).filter((name) => !name.startsWith('.'));
  const kept = layers.map((name) => join(stateDir, 'layers', name)).find((dir) => existsSync(join(dir, 'out', 'file')));
  assert.ok(kept, 'the writable layer is in the layer store');
  assert.ok(statSync(join(kept, 'bin', 'ls')).isCharacterDevice(), 'its whiteout stays an overlay whiteout');
  assert.equal(await berthOk(env, ['run', '--rm', imageId, 'sh', '-c', 'cat /out/file; test -e /bin/ls || echo no-ls']), 'made\nno-ls\n');
});

test('export and cp: the filesystem as a tar, copies both ways that never reach the host', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, RUNTIME)) return;
  const { env } = await startRuntime(t);
  const work = mkdtempSync(join(tmpdir(), 'berth-cp-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  await berthOk(env, ['create', '--name', 'files', 'busybox:test', 'sleep', '1000']);

  // A stopped container's filesystem is mounted for the copy only.
  writeFileSync(join(work, 'note.txt'), 'from the host\n');
  await berthOk(env, ['cp', join(work, 'note.txt'), 'files:/tmp']);
  await berthOk(env, ['start', 'files']);
  assert.equal(await berthOk(env, ['exec', 'files', 'cat', '/tmp/note.txt']), 'from the host\n');

  await berthOk(env, ['exec', 'files', 'sh', '-c', 'mkdir -p /data/sub && echo inner > /data/sub/x && ln -s /etc/passwd /data/link && ln -s /etc /data/etc-link']);
  await berthOk(env, ['cp', 'files:/data', join(work, 'out')]);
  assert.equal(readFileSync(join(work, 'out', 'sub', 'x'), 'utf8'), 'inner\n');
  const viaLink = join(work, 'passwd');
  await berthOk(env, ['cp', 'files:/data/etc-link/passwd', viaLink]);
  assert.match(readFileSync(viaLink, 'utf8'), /^root:x:0:0:root:\/root:\/bin\/sh\nnobody/, "the container's /etc, not the host's");

  const exported = join(work, 'fs.tar');
  await berthOk(env, ['export', '-o', exported, 'files']);
  const listing = execFileSync('tar', ['-tf', exported], { encoding: 'utf8' });
  assert.match(listing, /^bin\/busybox$/m);
  assert.match(listing, /^tmp\/note.txt$/m);

  // A tar whose entries climb out of the destination is refused, and nothing lands on the host.
  execFileSync('tar', ['-cf', join(work, 'evil.tar'), '-C', work, '-P', '--transform', 's,^,../../../../,', 'note.txt']);
  const evil = await berth(['cp', '-', 'files:/tmp'], env, 30_000, readFileSync(join(work, 'evil.tar'), 'latin1'));
  assert.notEqual(evil.code, 0);
  assert.match(evil.stderr, /leaves the destination directory/);

  const missing = await berth(['cp', 'files:/no/such/file', join(work, 'nothing')], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no\/such\/file/);
});
