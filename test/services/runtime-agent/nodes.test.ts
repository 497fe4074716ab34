import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from 'pg';
import { berth, berthOk, eventually, requirePrerequisites, startRuntime, streamEvents } from '../../support';

interface InspectedNode {
  name: string;
  state: string;
  cpus: number;
  memoryBytes: number;
  containers: number;
  running: number;
}

test('nodes: the agent registers its host and heartbeats; drain stops new containers; a silent node is unreachable until its agent comes back', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon'] })) return;
  const suite = await startRuntime(t, 'busybox:test', { BERTH_NODE: 'host-a' });
  const { env } = suite;
  const inspect = async () => (JSON.parse(await berthOk(env, ['node', 'inspect', 'host-a'])) as InspectedNode[])[0]!;

  const listed = await berthOk(env, ['node', 'ls']);
  assert.match(listed, /^NAME\s+STATE\s+ADDRESSES\s+CPUS\s+MEMORY\s+CONTAINERS\s+VERSION\n/);
  assert.match(listed, /^host-a\s+ready\s/m);
  await berthOk(env, ['run', '-d', '--name', 'one', 'busybox:test', 'sleep', '1000']);
  const node = await inspect();
  assert.equal(node.state, 'ready');
  assert.ok(node.cpus >= 1 && node.memoryBytes > 0);
  assert.deepEqual([node.running, node.containers], [1, 1]);

  assert.equal((await berthOk(env, ['node', 'drain', 'host-a'])).trim(), 'host-a');
  assert.equal((await inspect()).state, 'draining');
  const refused = await berth(['run', '--rm', 'busybox:test', 'true'], env);
  assert.equal(refused.code, 125);
  assert.match(refused.stderr, /node host-a is draining: no new containers are placed there/);
  assert.equal((await berthOk(env, ['exec', 'one', 'echo', 'still running'])).trim(), 'still running', 'what runs there keeps running');
  await berthOk(env, ['node', 'drain', '--undo', 'host-a']);
  assert.equal((await berthOk(env, ['run', '--rm', 'busybox:test', 'echo', 'placed'])).trim(), 'placed');

  const unknown = await berth(['node', 'inspect', 'host-z'], env);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /node host-z not found/);

  // A node whose agent went silent (its heartbeat a minute old) is unreachable; its containers stay listed.
  await suite.services['runtime-agent']!.kill();
  const db = new Client({ connectionString: env.BERTH_POSTGRES_URL });
  await db.connect();
  try {
    await db.query("UPDATE runtime.nodes SET heartbeat_at = now() - interval '1 minute' WHERE name = 'host-a'");
    await db.query("INSERT INTO runtime.nodes (name, cpus, memory_bytes, version, heartbeat_at) VALUES ('host-b', 2, 1073741824, 'test', now() - interval '1 minute')");
    // A container its agent recorded running on host-b before going silent.
    await db.query(
      `INSERT INTO runtime.containers (id, name, node, image_id, image_name, spec, layers, state)
       SELECT repeat('b', 64), 'ghost', 'host-b', image_id, image_name, spec, layers, 'running' FROM runtime.containers WHERE name = 'one'`,
    );
  } finally {
    await db.end();
  }
  await suite.spawn('runtime-agent');
  assert.match(await berthOk(env, ['node', 'ls']), /^host-b\s+unreachable\s/m);
  const ghost = (await berthOk(env, ['ps', '--filter', 'node=host-b', '--format', '{{.State}} {{.Status}}'])).trim();
  assert.match(ghost, /^unknown Unknown \(node host-b is unreachable; last Up /, 'shown as unknown, not lost');
  // The restarted agent registers its node again at once: ready, with what it had.
  const back = await eventually(async () => {
    const current = await inspect();
    return current.state === 'ready' ? current : undefined;
  }, 20_000, 'the node to be ready again');
  assert.equal(back.running, 1);

  const events = await streamEvents(env, 'node', 10, 3_000);
  // host-b, silent from the start, may also have been found unreachable by now.
  assert.deepEqual(events.filter((event) => event.actorId === 'host-a').map((event) => event.action), ['join', 'drain', 'ready']);
});
