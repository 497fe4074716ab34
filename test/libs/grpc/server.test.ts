import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { isBerthError } from '../../../libs/errors';
import { SERVICE_INFO, answerAtOnce, callInfo, startVolumeServer, temporaryDirectory } from './fixture';

/** Leaves a real socket file at path with nobody behind it, as a process killed with SIGKILL does. */
function leaveStaleSocket(path: string): void {
  const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script], { stdio: 'ignore', timeout: 5_000 });
  assert.ok(lstatSync(path).isSocket(), 'the dead process left its socket behind');
}

test('a unix socket is 0600 in a directory made 0700, and answers', async (t) => {
  const socket = join(temporaryDirectory(t), 'run', 'berth', 'volume.sock');
  const { server, target } = await startVolumeServer(t, answerAtOnce, { addresses: [`unix://${socket}`] });
  assert.deepEqual(server.addresses, [`unix://${socket}`]);
  assert.equal(statSync(dirname(socket)).mode & 0o777, 0o700);
  assert.equal(statSync(socket).mode & 0o777, 0o600);
  assert.deepEqual(await callInfo(target), SERVICE_INFO);
});

test('an existing socket directory open to others is made 0700', async (t) => {
  const directory = join(temporaryDirectory(t), 'sockets');
  mkdirSync(directory, { mode: 0o755 });
  await startVolumeServer(t, answerAtOnce, { addresses: [`unix://${join(directory, 'volume.sock')}`] });
  assert.equal(statSync(directory).mode & 0o777, 0o700);
});

test('a stale socket left by a dead process is replaced', async (t) => {
  const socket = join(temporaryDirectory(t), 'volume.sock');
  leaveStaleSocket(socket);
  const { target } = await startVolumeServer(t, answerAtOnce, { addresses: [`unix://${socket}`] });
  assert.deepEqual(await callInfo(target), SERVICE_INFO);
  assert.equal(statSync(socket).mode & 0o777, 0o600);
});

test('a second server on a socket that a live server answers on is refused, and the first keeps serving', async (t) => {
  const { target } = await startVolumeServer(t, answerAtOnce);
  await assert.rejects(startVolumeServer(t, answerAtOnce, { addresses: [target] }), (err: unknown) => {
    assert.ok(isBerthError(err, 'failed_precondition'), String(err));
    assert.match(err.message, /^volume is already running: something answers on \//);
    return true;
  });
  assert.deepEqual(await callInfo(target), SERVICE_INFO);
});

test('a file at the socket path that is not a socket is refused, not deleted', async (t) => {
  const path = join(temporaryDirectory(t), 'volume.conf');
  writeFileSync(path, 'a mistyped address must not cost this file\n');
  await assert.rejects(startVolumeServer(t, answerAtOnce, { addresses: [`unix://${path}`] }), (err: unknown) => {
    assert.ok(isBerthError(err, 'failed_precondition'), String(err));
    assert.match(err.message, /is not a socket/);
    return true;
  });
  assert.equal(readFileSync(path, 'utf8'), 'a mistyped address must not cost this file\n');
});
