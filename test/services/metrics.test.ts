import assert from 'node:assert/strict';
import { test } from 'node:test';
import { berth, berthOk, freePort, requirePrerequisites, startRuntime } from '../support';

/** One metric's samples from a Prometheus text page: labels as written, and values. */
function samples(page: string, name: string): { labels: string; value: number }[] {
  return page
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => {
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      const labels = line.includes('{') ? line.slice(line.indexOf('{') + 1, line.lastIndexOf('}')) : '';
      return { labels, value };
    });
}

test('each service serves its metrics for Prometheus when asked: RPC latency and errors, containers by state, image-store bytes, outbox backlog', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon'] })) return;
  const [agentPort, storePort] = [await freePort(), await freePort()];
  const { env } = await startRuntime(t, 'busybox:test', {
    BERTH_RUNTIME_AGENT_METRICS_LISTEN: `127.0.0.1:${agentPort}`,
    BERTH_IMAGE_STORE_METRICS_LISTEN: `127.0.0.1:${storePort}`,
  });
  await berthOk(env, ['run', '--name', 'done', 'busybox:test', 'true']);
  assert.notEqual((await berth(['inspect', 'no-such-container'], env)).code, 0);

  const agent = await (await fetch(`http://127.0.0.1:${agentPort}/metrics`)).text();
  assert.ok(samples(agent, 'berth_rpc_duration_seconds_count').some((s) => s.labels.includes('rpc="/berth.runtime.v1.RuntimeService/Create"') && s.labels.includes('code="OK"') && s.value >= 1), agent);
  assert.ok(samples(agent, 'berth_rpc_errors_total').some((s) => s.labels.includes('RuntimeService/Inspect') && s.labels.includes('code="NOT_FOUND"')), 'a NOT_FOUND is counted');
  assert.deepEqual(samples(agent, 'berth_containers').filter((s) => s.labels.includes('state="exited"')).map((s) => s.value), [1]);
  assert.ok(samples(agent, 'berth_outbox_backlog').length === 1);

  const store = await (await fetch(`http://127.0.0.1:${storePort}/metrics`)).text();
  assert.ok(samples(store, 'berth_image_store_bytes').some((s) => s.value > 1_000_000), 'the busybox layer is counted');
  assert.equal((await fetch(`http://127.0.0.1:${storePort}/other`)).status, 404);
});
