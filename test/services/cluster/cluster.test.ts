import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isBerthError } from '../../../libs/errors';
import { createClient, unaryCall } from '../../../libs/grpc';
import { runtime } from '../../../libs/proto';
import { adminQuery, berth, berthOk, CLUSTER_IMAGE, eventually, requirePrerequisites, startCluster, type TestHost } from '../../support';

test('cluster: three hosts in their own namespaces place containers, answer for each other, unpack a layer once each, reconcile after a kill, and refuse a stranger', { timeout: 300_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon', 'nsenter', 'ip', 'iptables'] })) return;
  const { hub, hosts, pki } = await startCluster(t);
  const [a, b, c] = hosts as [TestHost, TestHost, TestHost];
  const inspect = async (container: string, template: string) => (await berthOk(a.env, ['inspect', '-f', template, container])).trim();

  // Each agent registers its node with the address it has in its namespace, on the hub.
  const listed = await eventually(async () => {
    const output = await berthOk(a.env, ['node', 'ls']);
    return hosts.every((host) => nodeRow(output, host.name)?.[1] === 'ready') ? output : undefined;
  }, 20_000, 'three ready nodes');
  for (const host of hosts) assert.ok(nodeRow(listed, host.name)![2]!.split(',').includes(host.address), `${host.name} listed with ${host.address}:\n${listed}`);

  // Nine containers of one image, three per host, created at once through host-a's agent: each host
  // fetches and unpacks the image's one layer once, so the image-store serves it three times.
  const warm = hosts.flatMap((host) => [1, 2, 3].map((n) => ({ host, name: `warm-${host.name}-${n}` })));
  await Promise.all(warm.map(({ host, name }) => berthOk(a.env, ['create', '--node', host.name, '--name', name, CLUSTER_IMAGE, 'true'])));
  for (const host of hosts) assert.equal(await metric(host.metricsUrl, /^berth_layers_unpacked_total(\{[^}]*\})? (\d+)/m), 1, `${host.name} unpacked the layer once`);
  assert.equal(await metric(hub.metricsUrl, /^berth_rpc_duration_seconds_count\{[^}]*ImageStoreService\/ReadBlob[^}]*\} (\d+)/m), 3, 'one layer fetch per host');
  for (const { host, name } of warm) assert.equal(await inspect(name, '{{.Node}}'), host.name);
  await berthOk(a.env, ['rm', ...warm.map(({ name }) => name)]);

  // By node, and every kind of call for it made to host-a's agent: unary, server and client streams, both ways.
  const id = (await berthOk(a.env, ['run', '-d', '--name', 'on-b', '--node', 'host-b', '--restart', 'always', CLUSTER_IMAGE, 'sh', '-c', 'echo started; exec sleep 1000'])).trim();
  assert.equal(await inspect('on-b', '{{.Node}}: {{.Placement}}'), 'host-b: named by the caller');
  assert.ok(existsSync(join(b.stateDir, 'containers', id)), "the container lives in host-b's state root");
  assert.equal((await berthOk(a.env, ['exec', 'on-b', 'cat', '/proc/net/dev'])).includes('eth0'), true, 'exec through host-a reaches the container on host-b');
  assert.equal((await berthOk(a.env, ['logs', 'on-b'])).trim(), 'started');
  const work = mkdtempSync(join(tmpdir(), 'berth-cluster-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  writeFileSync(join(work, 'note.txt'), 'copied through host-a\n');
  await berthOk(a.env, ['cp', join(work, 'note.txt'), 'on-b:/tmp/']);
  assert.equal(await berthOk(a.env, ['exec', 'on-b', 'cat', '/tmp/note.txt']), 'copied through host-a\n');
  assert.equal((await berthOk(a.env, ['run', '--rm', '--node', 'host-c', CLUSTER_IMAGE, 'echo', 'hi from c'])).trim(), 'hi from c');
  const steady = (await berthOk(c.env, ['run', '-d', '--name', 'steady-b', '--node', 'host-b', '--restart', 'always', CLUSTER_IMAGE, 'sleep', '1000'])).trim();
  assert.equal((await berthOk(c.env, ['ps', '-q', '--no-trunc', '--filter', 'node=host-b'])).split('\n').filter(Boolean).sort().join(' '), [id, steady].sort().join(' '));

  // By volume: a container that mounts host-c's volume goes to host-c.
  await berthOk(c.env, ['volume', 'create', 'data']);
  await berthOk(a.env, ['run', '-d', '--name', 'uses-data', '-v', 'data:/data', CLUSTER_IMAGE, 'sleep', '1000']);
  assert.equal(await inspect('uses-data', '{{.Node}}: {{.Placement}}'), 'host-c: holds its volume data');

  // By load: host-b runs two, host-c one, host-a none; and a label constraint overrides the load.
  await berthOk(b.env, ['create', '--name', 'light', CLUSTER_IMAGE, 'true']);
  assert.match(await inspect('light', '{{.Node}}: {{.Placement}}'), /^host-a: least loaded of 3 ready nodes \(0 running on \d+ CPUs\)$/);
  await berthOk(a.env, ['create', '--name', 'zoned', '--constraint', 'node.labels.zone==c', CLUSTER_IMAGE, 'true']);
  assert.equal(await inspect('zoned', '{{.Node}}: {{.Placement}}'), 'host-c: least loaded of 1 ready node (1 running on 2 CPUs); meets node.labels.zone==c'.replace('2 CPUs', `${await cpusOf(a, 'host-c')} CPUs`));
  const unfit = await berth(['create', '--constraint', 'node.labels.zone==z', CLUSTER_IMAGE], a.env);
  assert.equal(unfit.code, 1);
  assert.match(unfit.stderr, /no node can take the container: node host-a does not meet node.labels.zone==z/);

  // host-b's agent is killed and goes silent: calls for its containers fail at once, naming it; ps
  // shows them as unknown; no other agent starts its restart=always containers.
  const oldPid = Number(await inspect('on-b', '{{.State.Pid}}'));
  const steadyPid = await inspect('steady-b', '{{.State.Pid}}');
  await b.kill();
  await silence(hub.postgresUrl, 'host-b');
  const nodeEvents = async () => (await berthOk(a.env, ['events', '--since', '10m', '--until', '0s', '--filter', 'type=node', '--format', '{{.Action}} {{.Actor.ID}}'])).trim().split('\n');
  // Another agent notices the silence at its next heartbeat, and records it once for all.
  await eventually(async () => ((await nodeEvents()).includes('unreachable host-b') ? true : undefined), 15_000, 'host-b found unreachable');
  const started = Date.now();
  const refused = await berth(['stop', 'on-b'], a.env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /node host-b is unreachable/);
  assert.ok(Date.now() - started < 5_000, 'fails fast');
  assert.match(await berthOk(a.env, ['ps', '--filter', 'name=on-b', '--format', '{{.State}}']), /^unknown$/m);
  // While its agent is away, on-b's process dies (as an OOM kill would end it).
  process.kill(oldPid, 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(await inspect('on-b', '{{.State.Status}} {{.RestartCount}}'), 'unknown 0', 'shown as its agent left it; nobody restarted it while its node was silent');

  // Back: host-b's agent adopts the container that kept running and restarts the one that died, once.
  await b.startAgent();
  await eventually(async () => ((await inspect('on-b', '{{.State.Status}} {{.RestartCount}}')) === 'running 1' ? true : undefined), 20_000, 'on-b restarted once');
  assert.notEqual(Number(await inspect('on-b', '{{.State.Pid}}')), oldPid);
  assert.equal(await inspect('steady-b', '{{.State.Status}} {{.State.Pid}} {{.RestartCount}}'), `running ${steadyPid} 0`);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(await inspect('on-b', '{{.RestartCount}}'), '1', 'started once, not twice');
  assert.match(await berthOk(a.env, ['node', 'ls']), /^host-b\s+ready\s/m);
  const events = await nodeEvents();
  assert.deepEqual(events.filter((event) => event.startsWith('join')).sort(), ['join host-a', 'join host-b', 'join host-c']);
  assert.deepEqual(events.filter((event) => !event.startsWith('join')), ['unreachable host-b', 'reachable host-b']);

  // A node leaves for good: only once silent, and with its containers' records only when forced.
  const up = await berth(['node', 'rm', 'host-c'], a.env);
  assert.match(up.stderr, /node host-c is ready: stop its agent first/);
  await c.kill();
  await silence(hub.postgresUrl, 'host-c');
  assert.match((await berth(['node', 'rm', 'host-c'], a.env)).stderr, /node host-c still has 2 containers recorded/);
  await berthOk(a.env, ['node', 'rm', '--force', 'host-c']);
  assert.doesNotMatch(await berthOk(a.env, ['node', 'ls']), /host-c/);
  assert.equal((await berth(['inspect', 'uses-data'], a.env)).code, 1, 'its containers are forgotten');
  // Published from the outbox a moment after the removal's transaction.
  await eventually(async () => ((await nodeEvents()).at(-1) === 'leave host-c' ? true : undefined), 10_000, 'the leave event of host-c');

  // Mutual TLS: a client whose certificate another CA signed is refused; the cluster's client is served.
  const call = (certificate: { cert: string; key: string }) => {
    const client = createClient(runtime.RuntimeServiceClient, a.agentAddress, { deadlineMs: 5_000, tls: { ca: pki.ca, ...certificate } });
    return unaryCall<runtime.InfoResponse>(a.agentAddress, (m, o, cb) => client.info({}, m, o, cb)).finally(() => client.close());
  };
  assert.equal((await call(pki.client)).info!.node, 'host-a');
  await assert.rejects(call(pki.stranger), (err: unknown) => isBerthError(err, 'unavailable'));
});

/** A node's row of `berth node ls`: its name, state and addresses. */
function nodeRow(output: string, name: string): string[] | undefined {
  return output
    .split('\n')
    .find((row) => row.split(/\s+/)[0] === name)
    ?.split(/\s+/)
    .slice(0, 3);
}

/** The last number a metric line matching the pattern holds, from a Prometheus endpoint. */
async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(url)).text();
  const match = pattern.exec(text);
  assert.ok(match, `${pattern} in:\n${text}`);
  return Number(match[match.length - 1]);
}

async function cpusOf(host: TestHost, node: string): Promise<number> {
  return (JSON.parse(await berthOk(host.env, ['node', 'inspect', node])) as Array<{ cpus: number }>)[0]!.cpus;
}

/** Dates a node's last heartbeat a minute back, as if its agent had been silent that long. */
async function silence(postgresUrl: string, node: string): Promise<void> {
  await adminQuery(postgresUrl, "UPDATE runtime.nodes SET heartbeat_at = now() - interval '1 minute' WHERE name = $1", [node]);
}
