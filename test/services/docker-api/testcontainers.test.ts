import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { requirePrerequisites, startDockerApi, startRuntime } from '../../support';

const IMAGE = 'busybox:testcontainers';

test('testcontainers against Berth: a GenericContainer of a local image, waited for by a log line and by its published port', { timeout: 180_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon'] })) return;
  const suite = await startRuntime(t, IMAGE, {}, { volumes: true });
  const socket = await startDockerApi(t, suite);
  // testcontainers finds the engine from the environment. Its reaper (Ryuk) is an image from Docker
  // Hub, which this machine cannot reach: the test stops what it starts itself.
  process.env.DOCKER_HOST = `unix://${socket}`;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const { GenericContainer, Wait } = await import('testcontainers');

  const logged = await new GenericContainer(IMAGE)
    .withCommand(['sh', '-c', 'echo starting; sleep 1; echo ready to serve; sleep 100'])
    .withWaitStrategy(Wait.forLogMessage('ready to serve'))
    .start();
  t.after(() => logged.stop({ timeout: 1 }).catch(() => undefined));
  assert.match(logged.getId(), /^[0-9a-f]{64}$/);
  const { output, exitCode } = await logged.exec(['echo', 'from exec']);
  assert.deepEqual([output, exitCode], ['from exec\n', 0]);

  const server = await new GenericContainer(IMAGE)
    .withCommand(['sh', '-c', 'while true; do echo hello | nc -l -p 8080; done'])
    .withExposedPorts(8080)
    .withWaitStrategy(Wait.forListeningPorts())
    .start();
  t.after(() => server.stop({ timeout: 1 }).catch(() => undefined));
  const port = server.getMappedPort(8080);
  assert.ok(port > 0);
  const greeting = await new Promise<string>((resolve, reject) => {
    const client = connect(port, server.getHost());
    let text = '';
    client.on('data', (chunk) => (text += chunk.toString()));
    client.on('end', () => resolve(text));
    client.on('error', reject);
  });
  assert.equal(greeting, 'hello\n');

  await server.stop({ timeout: 1 });
  await logged.stop({ timeout: 1 });
});
