import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support';

test('buf lint passes on proto/ (STANDARD and COMMENTS rules)', () => {
  const root = repoRoot();
  const result = spawnSync(join(root, 'node_modules', '.bin', 'buf'), ['lint'], { cwd: join(root, 'proto'), encoding: 'utf8' });
  assert.equal(result.status, 0, `buf lint failed:\n${result.stdout}${result.stderr}`);
  assert.equal(result.stdout.trim(), '');
});
