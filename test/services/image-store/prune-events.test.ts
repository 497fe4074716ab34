import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from 'nats';
import { subscribeEvents } from '../../../libs/events';
import {
  berth,
  buildImage,
  eventually,
  requirePrerequisites,
  seedRegistry,
  sharedServices,
  startRegistry,
  startImageStoreWithRuntime,
  type RunningService,
} from '../../support';

const PLATFORM = { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' };

async function ok(store: RunningService, args: string[]): Promise<string> {
  const result = await berth(args, store.env, 60_000);
  assert.equal(result.code, 0, `berth ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

test('a re-pulled tag leaves the old image dangling; image prune removes it and its blobs; every change is an event', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['docker-registry', 'skopeo'] })) return;
  const registry = await startRegistry();
  t.after(() => registry.stop());
  const [first, second] = await Promise.all([buildImage(PLATFORM), buildImage(PLATFORM)]);
  const name = `${registry.host}/test/app:1`;
  seedRegistry(t, registry.host, 'test/app:1', [first]);
  const store = await startImageStoreWithRuntime(t);

  await ok(store, ['pull', '-q', name]);
  seedRegistry(t, registry.host, 'test/app:1', [second]);
  await ok(store, ['pull', '-q', name]);
  const dangling = await ok(store, ['images', '-q', '--no-trunc', '--filter', 'dangling=true']);
  assert.equal(dangling.trim(), first.configDigest, 'the image the tag left behind is dangling');

  const kept = await ok(store, ['image', 'prune', '--filter', 'until=1s', '--filter', 'label=no.such=label']);
  assert.doesNotMatch(kept, /deleted:/, 'the filters keep it');
  const pruned = await ok(store, ['image', 'prune']);
  assert.match(pruned, new RegExp(`deleted: ${first.configDigest}`));
  assert.match(pruned, /Total reclaimed space: [1-9]/);
  const blobs = readdirSync(join(store.stateDir, 'content', 'blobs', 'sha256'));
  assert.ok(!blobs.includes(first.configDigest.slice(7)) && !blobs.includes(first.layers[1]!.digest.slice(7)), "the pruned image's own blobs are gone");
  assert.ok(blobs.includes(second.configDigest.slice(7)), 'the named image stays');

  await ok(store, ['tag', name, 'other/name:2']);
  await ok(store, ['save', '-o', join(store.stateDir, 'saved.tar'), 'other/name:2']);
  await ok(store, ['rmi', 'other/name:2']);

  const nc = await connect({ servers: (await sharedServices()).natsUrl });
  t.after(() => nc.close());
  const settings = { stream: store.env.BERTH_EVENTS_STREAM!, subjectPrefix: store.env.BERTH_EVENTS_SUBJECT_PREFIX! };
  const expected = [
    ['pull', name],
    ['pull', name],
    ['untag', first.configDigest],
    ['delete', first.configDigest],
    ['tag', second.configDigest],
    ['save', second.configDigest],
    ['untag', second.configDigest],
  ];
  const seen = await eventually(async () => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 2_000);
    const got: string[][] = [];
    try {
      for await (const { event } of subscribeEvents(nc, { settings, type: 'image', since: { sequence: 1 }, signal: controller.signal })) {
        got.push([event.action, event.actorId]);
        if (got.length === expected.length) break;
      }
    } finally {
      clearTimeout(timer);
    }
    return got.length === expected.length ? got : undefined;
  }, 20_000, 'the image events');
  assert.deepEqual(seen, expected);
});
