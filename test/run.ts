/**
 * The whole test suite: starts the run's Postgres and NATS once, runs every *.test.js under dist/test
 * with node's test runner (files in parallel; each test takes its own database and stream), and stops
 * them. Usage: node dist/test/run.js [FILTER...], where a filter keeps the files whose path contains it.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startSharedServices } from './support/shared';

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'support' ? [] : testFiles(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const files = testFiles(__dirname)
    .filter((file) => filters.length === 0 || filters.some((f) => join('test', relative(__dirname, file)).includes(f)))
    .sort();
  if (files.length === 0) {
    process.stderr.write(`no test files match ${filters.join(' ')}\n`);
    return 1;
  }
  const services = await startSharedServices();
  process.stdout.write(`test services (${services.provider}): ${services.postgresAdminUrl}, ${services.natsUrl}\n`);
  try {
    const child = spawn(
      process.execPath,
      // --test-force-exit: a file whose tests are done exits even if a failed test left a handle open,
      // so one failure cannot stall the run; --test-timeout bounds any single test.
      ['--test', '--test-concurrency=2', '--test-force-exit', '--test-timeout=600000', '--test-reporter=spec', ...files],
      {
        stdio: 'inherit',
        env: { ...process.env, TEST_POSTGRES_URL: services.postgresAdminUrl, TEST_NATS_URL: services.natsUrl },
      },
    );
    return await new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await services.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`test run failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
