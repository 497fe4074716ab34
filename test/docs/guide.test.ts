import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { berthBin, repoRoot, requirePrerequisites, startRuntime } from '../support';
import { missingLine, runnableBlocks } from './runnable';

const DOCS = join(repoRoot(), 'docs');
/** GUIDE_CHAPTERS=02-filesystem.md,... runs only those (when writing them). */
const only = process.env.GUIDE_CHAPTERS?.split(',').filter(Boolean);
const chapters = readdirSync(DOCS)
  .filter((name) => name.endsWith('.md') && (only === undefined || only.includes(name)))
  .sort();

/**
 * Each chapter of the guide, its `sh run` blocks run in order in one shell (so that a block may use
 * what an earlier one made) against a suite of its own with busybox imported as busybox:latest, in a
 * working directory of its own; a block must succeed and print what its `text output` block shows.
 */
for (const chapter of chapters) {
  const blocks = runnableBlocks(readFileSync(join(DOCS, chapter), 'utf8'));
  if (blocks.length === 0) continue;
  test(`docs/${chapter}: its ${blocks.length} runnable blocks do what the guide says`, { timeout: 600_000 }, async (t) => {
    if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon', 'tar'] })) return;
    const suite = await startRuntime(t, 'busybox:latest', {}, { volumes: true, builder: true });
    const work = join(suite.stateDir, 'guide');
    const bin = join(work, '.bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'berth'), `#!/bin/sh\nexec ${process.execPath} ${berthBin()} "$@"\n`);
    chmodSync(join(bin, 'berth'), 0o755);
    // Programs in the guide import Berth's client as an installed package would: `berth/client`.
    mkdirSync(join(work, 'node_modules'));
    symlinkSync(repoRoot(), join(work, 'node_modules', 'berth'));
    const marker = (index: number) => `@@guide-block-${index}@@`;
    const script = [
      'set -euo pipefail',
      'exec 2>&1',
      // What a block leaves running in the background goes when the chapter ends.
      'trap \'kill $(jobs -p) 2>/dev/null || true\' EXIT',
      ...blocks.flatMap((block, index) => [`echo '${marker(index)}'`, block.script]),
      `echo '${marker(blocks.length)}'`,
    ].join('\n');
    const { code, output } = await runBash(script, work, { ...suite.env, PATH: `${bin}:${process.env.PATH}`, HOME: work, BERTH_LOG_FORMAT: 'auto' });
    // Output i is block i's: each block's marker comes before it, and one more after the last.
    const outputs = output.split(/^@@guide-block-\d+@@$/m).slice(1);
    if (code !== 0 || outputs.length <= blocks.length) {
      const last = Math.min(Math.max(outputs.length - 1, 0), blocks.length - 1);
      assert.fail(`docs/${chapter}: the block at line ${blocks[last]!.line} failed (exit ${code}):\n${blocks[last]!.script}\n--- its output:\n${outputs[last] ?? output}`);
    }
    blocks.forEach((block, index) => {
      if (block.expected === undefined) return;
      const missing = missingLine(block.expected, outputs[index]!);
      assert.equal(missing, undefined, `docs/${chapter}: the block at line ${block.line} did not print "${missing}"; it printed:\n${outputs[index]}`);
    });
  });
}

function runBash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  mkdirSync(cwd, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 540_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
