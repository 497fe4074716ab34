import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBerthError } from '../../../libs/errors';
import { placeContainer, type PlacementRequest } from '../../../services/runtime-agent/nodes/placement';
import type { NodeInfo } from '../../../services/runtime-agent/nodes/registry';

function node(name: string, fields: Partial<NodeInfo> = {}): NodeInfo {
  return {
    name,
    state: 'ready',
    addresses: [],
    endpoint: `${name}:7403`,
    labels: {},
    cpus: 2,
    memoryBytes: 1 << 30,
    containers: 0,
    running: 0,
    version: 'test',
    joinedAt: new Date(0),
    heartbeatAt: new Date(0),
    ...fields,
  };
}

const cluster = [
  node('host-a', { running: 2, containers: 2, labels: { zone: 'a' } }),
  node('host-b', { running: 1, containers: 3, labels: { zone: 'b', disk: 'ssd' } }),
  node('host-c', { running: 1, containers: 1, labels: { zone: 'c' } }),
];

const request = (fields: Partial<PlacementRequest>): PlacementRequest => ({ node: '', constraints: [], volumes: [], ...fields });
const noVolumes = async () => [];

async function refusal(promise: Promise<unknown>, kind: Parameters<typeof isBerthError>[1], pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => isBerthError(err, kind) && pattern.test((err as Error).message));
}

test('placement: the named node, if it can take the container', async () => {
  assert.deepEqual(await placeContainer(cluster, request({ node: 'host-a' }), noVolumes), { node: 'host-a', reason: 'named by the caller' });
  await refusal(placeContainer(cluster, request({ node: 'host-z' }), noVolumes), 'not_found', /node host-z not found/);
  await refusal(placeContainer([node('host-a', { state: 'unreachable' })], request({ node: 'host-a' }), noVolumes), 'unavailable', /node host-a is unreachable/);
  await refusal(placeContainer([node('host-a', { state: 'draining' })], request({ node: 'host-a' }), noVolumes), 'failed_precondition', /host-a is draining/);
  await refusal(placeContainer(cluster, request({ node: 'host-a', constraints: ['node.labels.zone==b'] }), noVolumes), 'failed_precondition', /host-a does not meet node.labels.zone==b/);
});

test('placement: the least loaded ready node that meets the constraints', async () => {
  // host-b and host-c run one each on 2 CPUs; host-c has fewer containers.
  const placed = await placeContainer(cluster, request({}), noVolumes);
  assert.equal(placed.node, 'host-c');
  assert.equal(placed.reason, 'least loaded of 3 ready nodes (1 running on 2 CPUs)');
  assert.equal((await placeContainer(cluster, request({ constraints: ['node.labels.disk==ssd'] }), noVolumes)).node, 'host-b');
  assert.equal((await placeContainer(cluster, request({ constraints: ['node.name!=host-c', 'node.labels.zone!=b'] }), noVolumes)).node, 'host-a');
  const busyButBig = [node('big', { running: 4, cpus: 16 }), node('small', { running: 1, cpus: 1 })];
  assert.equal((await placeContainer(busyButBig, request({}), noVolumes)).node, 'big', 'load is per CPU');
  const drainingC = cluster.map((n) => (n.name === 'host-c' ? { ...n, state: 'draining' as const } : n));
  assert.equal((await placeContainer(drainingC, request({}), noVolumes)).node, 'host-b');
  await refusal(placeContainer(cluster, request({ constraints: ['node.labels.zone==d'] }), noVolumes), 'failed_precondition', /no node can take the container: node host-a does not meet/);
  await refusal(placeContainer(cluster, request({ constraints: ['zone=a'] }), noVolumes), 'invalid_argument', /constraint "zone=a"/);
});

test('placement: the node that holds the named volumes', async () => {
  const locate = async (names: string[]) => [
    { name: 'data', node: 'host-a' },
    { name: 'logs', node: 'host-a' },
    { name: 'logs', node: 'host-b' },
  ].filter((location) => names.includes(location.name));
  assert.deepEqual(await placeContainer(cluster, request({ volumes: ['data', 'logs'] }), locate), { node: 'host-a', reason: 'holds its volumes data, logs' });
  assert.equal((await placeContainer(cluster, request({ volumes: ['logs'] }), locate)).node, 'host-b', 'the less loaded of the holders');
  assert.equal((await placeContainer(cluster, request({ volumes: ['new'] }), locate)).node, 'host-c', 'a volume not made yet is made where the container goes');
  await refusal(placeContainer(cluster, request({ volumes: ['data'], constraints: ['node.labels.zone==b'] }), locate), 'failed_precondition', /holds all its volumes \(data on host-a\)/);
});
