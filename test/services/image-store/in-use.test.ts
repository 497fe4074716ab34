import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { berth, berthOk, eventually, importBusybox, requirePrerequisites, startRuntime } from '../../support';

test('an image a container uses is kept: rmi refuses without force, prune --all leaves it; the runtime-agent is asked', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon'] })) return;
  const suite = await startRuntime(t, 'busybox:used');
  const { env } = suite;
  await importBusybox(t, env, 'other:1');
  const usedId = (await berthOk(env, ['images', '-q', '--no-trunc', 'busybox:used'])).trim();
  await berthOk(env, ['create', '--name', 'user', 'busybox:used', 'true']);

  const refused = await berth(['rmi', 'busybox:used'], env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /image [0-9a-f]{12} is in use by 1 container: remove them first, or force/);
  await berthOk(env, ['tag', 'busybox:used', 'second:name']);
  assert.match(await berthOk(env, ['rmi', 'second:name']), /Untagged: .*second:name/, 'untagging one of two names is fine');

  const pruned = await berthOk(env, ['image', 'prune', '--all']);
  assert.doesNotMatch(pruned, new RegExp(usedId), 'prune --all keeps the used image');
  assert.match(await berthOk(env, ['images']), /busybox\s+used/);

  await suite.services['runtime-agent']!.stop();
  const unknown = await berth(['rmi', 'busybox:used'], env);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /cannot tell whether containers use image .*force the removal to go ahead/);
  await suite.spawn('runtime-agent');

  await berthOk(env, ['rm', 'user']);
  assert.match(await berthOk(env, ['image', 'prune', '-a']), new RegExp(`deleted: ${usedId}`));
  assert.equal((await berth(['image', 'inspect', 'busybox:used'], env)).code, 1);

  // The agent drops layers that no container and no image of the image-store needs (at start, and after removals).
  await suite.services['runtime-agent']!.stop();
  await suite.spawn('runtime-agent');
  await eventually(() => (readdirSync(join(suite.stateDir, 'layers')).filter((n) => !n.startsWith('.')).length === 0 ? true : undefined), 10_000, 'the unused layers to go');
});
