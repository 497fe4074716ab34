import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { runProgram, spawnPiped, type ProgramError } from '../../../services/runtime-agent/spawner';

test('the spawner runs a program to its end: input, output, exit codes and errors as execFile gives them', async () => {
  assert.deepEqual(await runProgram('sh', ['-c', 'tr a-z A-Z; echo done >&2'], { input: 'hello\n' }), { stdout: 'HELLO\n', stderr: 'done\n' });
  assert.equal((await runProgram('pwd', [], { cwd: '/tmp' })).stdout, '/tmp\n');
  assert.equal((await runProgram('sh', ['-c', 'echo $GREETING'], { env: { GREETING: 'hi' } })).stdout, 'hi\n');

  const failed = (await runProgram('sh', ['-c', 'echo out; echo why >&2; exit 3']).catch((err: unknown) => err)) as ProgramError;
  assert.equal(failed.code, 3);
  assert.equal(failed.stdout, 'out\n');
  assert.equal(failed.stderr, 'why\n');
  const missing = (await runProgram('/no/such/program', []).catch((err: unknown) => err)) as ProgramError;
  assert.equal(missing.code, 'ENOENT');

  // Programs run side by side, each answer to its own caller.
  const many = await Promise.all(Array.from({ length: 20 }, (_, i) => runProgram('sh', ['-c', `sleep 0.0${i % 5}; echo ${i}`])));
  assert.deepEqual(many.map((result) => Number(result.stdout)), Array.from({ length: 20 }, (_, i) => i));
});

test('a spawned program talks over its relayed pipes, both ways, from its first byte', async () => {
  const program = await spawnPiped('sh', ['-c', 'echo ready >&3; read line <&4; echo "got $line" >&3; echo bye >&2'], { pipes: 2, detached: false });
  assert.ok(program.pid > 1);
  const said: string[] = [];
  const errors: string[] = [];
  program.pipes.get(3)!.on('data', (chunk: Buffer) => said.push(chunk.toString()));
  program.pipes.get(2)!.on('data', (chunk: Buffer) => errors.push(chunk.toString()));
  program.pipes.get(4)!.write('ping\n');
  // Each pipe ends on its own: the two are not ordered between each other.
  await Promise.all([once(program.pipes.get(3)!, 'end'), once(program.pipes.get(2)!, 'end')]);
  assert.equal(said.join(''), 'ready\ngot ping\n');
  assert.equal(errors.join(''), 'bye\n');
  program.release();

  await assert.rejects(spawnPiped('/no/such/program', [], { pipes: 1, detached: false }), /cannot run \/no\/such\/program/);
});
