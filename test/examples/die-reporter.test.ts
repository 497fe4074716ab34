import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { reportDeaths } from '../../examples/die-reporter';
import { berth, eventually, requirePrerequisites, startRuntime } from '../support';

interface Report {
  container: string;
  id: string;
  exitCode: number;
  logs: string[];
}

test('examples/die-reporter posts the last log lines of containers that die with a non-zero code, and resumes without repeats', { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon'] })) return;
  const { env, endpoint } = await startRuntime(t, 'busybox:test');
  const reports: Report[] = [];
  const webhook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      reports.push(JSON.parse(body) as Report);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  t.after(() => webhook.close());
  const work = mkdtempSync(join(tmpdir(), 'berth-reporter-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const settings = { endpoint, webhook: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`, stateFile: join(work, 'sequence') };

  const run = (name: string, script: string) => berth(['run', '--name', name, 'busybox:test', 'sh', '-c', script], env, 60_000);
  const first = new AbortController();
  const running = reportDeaths(settings, first.signal);
  await run('fine', 'echo all good');
  await run('broken', 'echo starting; echo boom >&2; exit 3');
  await eventually(() => (reports.length === 1 ? true : undefined), 20_000, 'the report of the broken container');
  assert.deepEqual(reports[0], { container: 'broken', id: reports[0]!.id, exitCode: 3, logs: ['starting', 'boom'] });
  assert.match(reports[0]!.id, /^[0-9a-f]{64}$/);
  first.abort();
  await running;

  // While the reporter is away, another dies; the next reporter reports it, and only it.
  await run('later', 'echo late; exit 7');
  const second = new AbortController();
  const resumed = reportDeaths(settings, second.signal);
  await eventually(() => (reports.length === 2 ? true : undefined), 20_000, 'the report of the later container');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  second.abort();
  await resumed;
  assert.deepEqual(reports.map((report) => [report.container, report.exitCode]), [['broken', 3], ['later', 7]]);
});
