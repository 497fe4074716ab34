import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { checkHealth } from '../../libs/grpc';
import { berthEnvironment } from './berth';
import { eventually, sharedServices, testDatabase, testEventSettings } from './index';
import { serviceEntry } from './paths';

export interface RunningService {
  /** The service's gRPC endpoint: unix://RUNDIR/NAME.sock. */
  endpoint: string;
  stateDir: string;
  runDir: string;
  /** The environment that points `berth` and other services at this one (and its database and stream). */
  env: NodeJS.ProcessEnv;
  /** Everything the service printed so far. */
  output(): string;
  /** SIGTERM, and its exit code. */
  stop(): Promise<number | null>;
}

/**
 * The environment of one test's Berth: its state and run directories, its own database and event
 * stream, and the run's NATS.
 */
export async function testEnvironment(t: TestContext, stateDir: string, runDir: string): Promise<NodeJS.ProcessEnv> {
  const events = testEventSettings();
  return berthEnvironment({
    BERTH_STATE_DIR: stateDir,
    BERTH_RUN_DIR: runDir,
    BERTH_POSTGRES_URL: await testDatabase(t),
    BERTH_NATS_URL: (await sharedServices()).natsUrl,
    BERTH_EVENTS_STREAM: events.stream,
    BERTH_EVENTS_SUBJECT_PREFIX: events.subjectPrefix,
  });
}

/**
 * Starts a service as `node <entry>` for one test, with its own state and run directories, its own
 * database and event stream, and the shared NATS; stopped and cleaned up after the test.
 */
export async function startService(t: TestContext, name: string, extraEnv: Record<string, string> = {}): Promise<RunningService> {
  const stateDir = mkdtempSync(join(tmpdir(), `berth-${name}-`));
  const runDir = mkdtempSync(join(tmpdir(), `berth-${name}-run-`));
  t.after(() => {
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });
  const env = {
    ...(await testEnvironment(t, stateDir, runDir)),
    BERTH_LOG_FORMAT: 'json',
    BERTH_REGISTRIES_AUTH_FILE: join(stateDir, 'auth', 'config.json'),
    ...extraEnv,
  };
  const child = spawn(process.execPath, [serviceEntry(name)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const endpoint = `unix://${runDir}/${name}.sock`;
  await eventually(
    async () => ((await checkHealth(endpoint, { deadlineMs: 500 }).catch(() => undefined)) === 'SERVING' ? true : undefined),
    30_000,
    `${name} to serve:\n${output}`,
  );
  return {
    endpoint,
    stateDir,
    runDir,
    env,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
