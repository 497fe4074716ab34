import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { test } from 'node:test';
import { bridgeMac } from '../../../services/runtime-agent/network/links';
import { berth, berthOk, eventually, requirePrerequisites, startRuntime, streamEvents } from '../../support';

const NETWORKING = { root: true, programs: ['runc', 'conmon', 'ip', 'iptables'] };
const IMAGE = 'busybox:test';

/** A container that answers every TCP connection on port with reply, one after another. */
const server = (port: number, reply: string) => ['busybox', 'sh', '-c', `while true; do echo ${reply} | busybox nc -l -p ${port}; done`];

/** What a TCP connection from the host to 127.0.0.1:port reads, or the error that ended it. */
function readFromHost(port: number): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(3_000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('error', (err) => resolve(`error: ${err.message}`));
    socket.on('close', () => resolve(data));
  });
}

/** Whether the host can bind a UDP port on 127.0.0.1 (nobody holds it). */
function bindsUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

const hostState = () => ({
  links: execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }),
  namespaces: execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }),
  filter: execFileSync('iptables', ['-w', '-S'], { encoding: 'utf8' }),
  nat: execFileSync('iptables', ['-w', '-t', 'nat', '-S'], { encoding: 'utf8' }),
});

test('containers on a user network reach each other by name and alias; other networks cannot reach them; internal ones have no way out', { timeout: 240_000 }, async (t) => {
  if (!requirePrerequisites(t, NETWORKING)) return;
  const { env } = await startRuntime(t, IMAGE);
  const networkId = (await berthOk(env, ['network', 'create', '--label', 'team=web', 'appnet'])).trim();
  assert.match(networkId, /^[0-9a-f]{64}$/);
  const duplicate = await berth(['network', 'create', 'appnet'], env);
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.stderr, /already exists/);
  await berthOk(env, ['network', 'create', 'othernet']);
  await berthOk(env, ['network', 'create', '--internal', 'sealed']);

  const dbId = (await berthOk(env, ['run', '-d', '--name', 'db', '--network', 'appnet', '--network-alias', 'database', IMAGE, ...server(5432, 'hello-from-db')])).trim();
  const client = (network: string, ...command: string[]) => berth(['run', '--rm', '--network', network, IMAGE, ...command], env, 60_000);
  await eventually(async () => ((await client('appnet', 'busybox', 'nc', 'db', '5432')).stdout === 'hello-from-db\n' ? true : undefined), 20_000, 'db by name');
  assert.equal((await client('appnet', 'busybox', 'nc', 'database', '5432')).stdout, 'hello-from-db\n', 'by its alias');
  assert.equal(await berthOk(env, ['ps', '--filter', 'network=appnet', '--format', '{{.Names}}']), 'db\n', 'ps by network');
  // A container finds its own name from its first instruction.
  const self = await berth(['run', '--rm', '--network', 'appnet', '--name', 'selfie', IMAGE, 'busybox', 'nslookup', 'selfie'], env, 60_000);
  assert.equal(self.code, 0, self.stdout + self.stderr);

  const inspected = JSON.parse(await berthOk(env, ['network', 'inspect', 'appnet'])) as [{ Containers: Record<string, { Name: string; IPv4Address: string }>; Labels: Record<string, string>; IPAM: { Config: [{ Subnet: string; Gateway: string }] } }];
  const endpoint = Object.values(inspected[0].Containers)[0]!;
  assert.equal(endpoint.Name, 'db');
  assert.deepEqual(inspected[0].Labels, { team: 'web' });
  const address = endpoint.IPv4Address.split('/')[0]!;
  assert.equal((await berthOk(env, ['inspect', '-f', '{{.NetworkSettings.Networks.appnet.IPAddress}}', 'db'])).trim(), address);

  // Another network, and the default bridge, reach it neither by name nor by address.
  const fromOther = await client('othernet', 'busybox', 'nc', '-w', '3', address, '5432');
  assert.notEqual(fromOther.code, 0);
  assert.equal(fromOther.stdout, '');
  const byNameFromBridge = await client('bridge', 'busybox', 'nslookup', 'db');
  assert.notEqual(byNameFromBridge.code, 0, 'the default bridge has no names of other networks');
  // The bridge keeps an address of its own while containers come and go, so the gateway's never moves.
  const defaultBridge = env.BERTH_NETWORK_BRIDGE_NAME!;
  assert.equal(readFileSync(`/sys/class/net/${defaultBridge}/address`, 'utf8').trim(), bridgeMac(defaultBridge));

  // An internal network: no route beyond its subnet, no names from outside.
  const sealed = await client('sealed', 'busybox', 'ip', 'route');
  assert.doesNotMatch(sealed.stdout, /default/);
  const out = await client('sealed', 'busybox', 'nc', '-w', '3', address, '5432');
  assert.notEqual(out.code, 0);
  assert.match(out.stderr, /unreachable|timed out/i);

  // Connect and disconnect a running container.
  const roamerId = (await berthOk(env, ['run', '-d', '--name', 'roamer', '--network', 'othernet', IMAGE, 'sleep', '1000'])).trim();
  await berthOk(env, ['network', 'connect', 'appnet', 'roamer']);
  assert.equal(await berthOk(env, ['exec', 'roamer', 'busybox', 'nc', 'db', '5432']), 'hello-from-db\n');
  await berthOk(env, ['network', 'disconnect', 'appnet', 'roamer']);
  assert.notEqual((await berth(['exec', 'roamer', 'busybox', 'nc', '-w', '3', address, '5432'], env)).code, 0);

  const inUse = await berth(['network', 'rm', 'appnet'], env);
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, /active endpoints \(db\)/);
  await berthOk(env, ['rm', '-f', 'db', 'roamer']);
  const bridge = (JSON.parse(await berthOk(env, ['network', 'inspect', '-f', '{{json .Options}}', 'appnet'])) as Record<string, string>)['com.docker.network.bridge.name']!;
  assert.match(hostState().links, new RegExp(`: ${bridge}[:@]`));
  await berthOk(env, ['network', 'rm', 'appnet']);
  const gone = hostState();
  assert.doesNotMatch(gone.links, new RegExp(`: ${bridge}[:@]`), 'the bridge goes with the network');
  assert.doesNotMatch(gone.filter + gone.nat, new RegExp(`berth:net:${networkId.slice(0, 12)}`), 'and its rules');
  assert.doesNotMatch(gone.namespaces, new RegExp(`berth-(${dbId.slice(0, 12)}|${roamerId.slice(0, 12)})`), 'no namespace is left');
  const leftOn = await berthOk(env, ['network', 'inspect', '-f', '{{json .Containers}}', 'othernet', 'sealed']);
  assert.equal(leftOn, '{}\n{}\n', `no container is left on othernet or sealed: ${await berthOk(env, ['ps', '-a'])}`);
  assert.match((await berth(['network', 'prune', '--filter', 'colour=red'], env)).stderr, /invalid filter "colour"/);
  assert.deepEqual((await berthOk(env, ['network', 'prune', '-f'])).split('\n').filter((line) => line !== '' && line !== 'Deleted Networks:').sort(), ['othernet', 'sealed']);
  assert.equal((await berthOk(env, ['network', 'ls', '--format', '{{.Name}}'])).trim(), 'bridge\nhost\nnone');

  const events = (await streamEvents(env, 'network', 100, 5_000)).filter((event) => event.actorId === networkId);
  assert.equal(events[0]?.action, 'create');
  assert.equal(events.at(-1)?.action, 'destroy');
  const roamer = events.filter((event) => event.attributes.container === roamerId).map((event) => event.action);
  assert.deepEqual(roamer, ['connect', 'disconnect'], 'network connect and disconnect');
  const db = events.filter((event) => event.attributes.container === dbId).map((event) => event.action);
  assert.deepEqual(db, ['connect', 'disconnect'], 'joined at create, left at removal');
});

test('published ports reach a server in a container from the host; random ports are reported; a taken port fails the start', { timeout: 240_000 }, async (t) => {
  if (!requirePrerequisites(t, NETWORKING)) return;
  const suite = await startRuntime(t, IMAGE);
  const { env } = suite;
  await berthOk(env, ['run', '-d', '--name', 'web', '-p', '127.0.0.1::8080', '-p', '8081', '--expose', '9000', IMAGE, ...server(8080, 'hello-from-web')]);
  const port = async (privatePort: string) => Number((await berthOk(env, ['port', 'web', privatePort])).trim().split(':').at(-1));
  const [first, second] = [await port('8080'), await port('8081')];
  assert.ok(first > 0 && second > 0 && first !== second);
  assert.match(await berthOk(env, ['ps', '--format', '{{.Ports}}']), new RegExp(`127\\.0\\.0\\.1:${first}->8080/tcp`));
  await eventually(async () => ((await readFromHost(first)) === 'hello-from-web\n' ? true : undefined), 20_000, 'the published port');

  const taken = await berth(['run', '-d', '--name', 'clash', '-p', `127.0.0.1:${first}:80`, IMAGE, 'sleep', '100'], env);
  assert.notEqual(taken.code, 0);
  assert.match(taken.stderr, new RegExp(`cannot publish 127\\.0\\.0\\.1:${first}/tcp: the port is already in use`));

  // The agent goes and comes back: the container's address, its ports and its names stay.
  const address = (await berthOk(env, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'web'])).trim();
  await suite.services['runtime-agent']!.kill();
  await suite.spawn('runtime-agent');
  assert.equal((await berthOk(env, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'web'])).trim(), address);
  assert.equal(await port('8080'), first);
  await eventually(async () => ((await readFromHost(first)) === 'hello-from-web\n' ? true : undefined), 20_000, 'the published port after a restart');
  const stillTaken = await berth(['start', 'clash'], env);
  assert.notEqual(stillTaken.code, 0, 'the restarted agent holds the port again');

  // -P publishes every exposed port on a port the kernel picks.
  await berthOk(env, ['rm', '-f', 'clash']);
  const id = (await berthOk(env, ['run', '-d', '-P', '--expose', '7000', '--name', 'all', IMAGE, ...server(7000, 'hello-from-all')])).trim();
  const published = await berthOk(env, ['port', 'all']);
  assert.match(published, /^7000\/tcp -> 0\.0\.0\.0:\d+$/m);
  await eventually(async () => ((await readFromHost(Number(published.trim().split(':').at(-1)))) === 'hello-from-all\n' ? true : undefined), 20_000, '-P');

  // UDP (busybox has no UDP server to answer): the host port is held and redirected to the container.
  await berthOk(env, ['run', '-d', '--name', 'udp', '-p', '127.0.0.1::5353/udp', IMAGE, 'sleep', '1000']);
  const udpPort = Number((await berthOk(env, ['port', 'udp', '5353/udp'])).trim().split(':').at(-1));
  const udpAddress = (await berthOk(env, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'udp'])).trim();
  assert.match(hostState().nat, new RegExp(`-d 127\\.0\\.0\\.1/32 -p udp -m udp --dport ${udpPort} .*--to-destination ${udpAddress.replace(/\./g, '\\.')}:5353`));
  assert.equal(await bindsUdp(udpPort), false, 'the agent holds the host port');

  // Nothing of the containers stays on the host once they are gone.
  await berthOk(env, ['rm', '-f', 'web', 'all', 'udp']);
  const after = hostState();
  assert.doesNotMatch(after.namespaces, new RegExp(`berth-${id.slice(0, 12)}`));
  assert.doesNotMatch(after.links, new RegExp(`vb${id.slice(0, 10)}`));
  assert.doesNotMatch(after.nat, new RegExp(`berth:ctr:${id.slice(0, 12)}`));
  assert.equal((await readFromHost(first)).startsWith('error'), true, 'the host port is free again and nothing answers');
  assert.equal(await bindsUdp(udpPort), true, 'the UDP port is free again');
});

test('host and none: the host stack as it is, or loopback alone; /etc files for each mode', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, NETWORKING)) return;
  const { env } = await startRuntime(t, IMAGE);
  const none = await berthOk(env, ['run', '--rm', '--network', 'none', IMAGE, 'busybox', 'ip', '-o', 'link']);
  assert.deepEqual(none.trim().split('\n').map((line) => line.split(':')[1]!.trim()), ['lo']);
  // The host's links, this suite's bridge among them (other suites' come and go meanwhile).
  assert.match(await berthOk(env, ['run', '--rm', '--network', 'host', IMAGE, 'busybox', 'ip', '-o', 'link']), new RegExp(`: ${env.BERTH_NETWORK_BRIDGE_NAME}: `));
  const files = await berthOk(env, ['run', '--rm', '--hostname', 'box', IMAGE, 'sh', '-c', 'cat /etc/hostname; grep box /etc/hosts; cat /etc/resolv.conf']);
  assert.match(files, /^box\n\d+\.\d+\.\d+\.\d+\tbox\nnameserver \d+\.\d+\.\d+\.\d+\n/);
  const refused = await berth(['run', '--rm', '--network', 'host', '-p', '80:80', IMAGE, 'true'], env);
  assert.equal(refused.code, 125);
  assert.match(refused.stderr, /published ports are discarded with --network host/);
  const unknown = await berth(['run', '--rm', '--network', 'nowhere', IMAGE, 'true'], env);
  assert.equal(unknown.code, 125);
  assert.match(unknown.stderr, /network nowhere not found/);
});
