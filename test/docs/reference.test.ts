import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { referenceMarkdown } from '../../cli/reference';
import { berth, repoRoot } from '../support';

test('docs/10-reference.md is what the commands say of themselves: regenerate it with `npm run docs:reference`', async () => {
  const written = readFileSync(join(repoRoot(), 'docs', '10-reference.md'), 'utf8');
  assert.ok(written === (await referenceMarkdown()), 'docs/10-reference.md differs from the commands: run `npm run docs:reference`');
});

test('berth COMMAND --help and berth help COMMAND print its usage and every flag with its description; unknown commands are refused', async () => {
  const help = await berth(['run', '--help'], process.env);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: berth run \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]$/m);
  assert.match(help.stdout, /^ {2}-d, --detach +\S/m);
  assert.match(help.stdout, /^ {2}-p, --publish \S+ +.*\(repeatable\)$/m);
  assert.equal((await berth(['help', 'volume', 'ls'], process.env)).stdout, (await berth(['volume', 'ls', '--help'], process.env)).stdout);
  const overview = await berth(['--help'], process.env);
  assert.equal(overview.code, 0);
  assert.match(overview.stdout, /^ {2}volume create +Make a volume$/m);
  const unknown = await berth(['frobnicate'], process.env);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});
