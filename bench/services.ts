import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHealth } from '../libs/grpc';
import { berthEnvironment, createDatabase, eventually, removeContainersOf, removeNetworking, serviceEntry, testNetworkSettings } from '../test/support';
import type { SharedServices } from '../test/support/shared';
import type { Defer } from './scope';

/** Berth's services as `berth up` runs them: one state directory, run directory and database. */
export interface BenchBerth {
  stateDir: string;
  /** A directory of the benchmark's own beside the services', removed with them. */
  workDir: string;
  /** The environment the services share, and that points `berth` at them. */
  env: NodeJS.ProcessEnv;
  endpoint(service: string): string;
  pid(service: string): number;
  /** What a service has logged so far (JSON lines, info level, as in production). */
  output(service: string): string;
}

/**
 * Starts the named services, in order, on the run's Postgres and NATS. Deferred: kill them, then
 * remove whatever their containers left on the host (processes, mounts, cgroups, runc state), their
 * database and their directories. extraEnv is added to (or overrides) the services' environment.
 */
export async function startBerth(shared: SharedServices, names: string[], defer: Defer, extraEnv: Record<string, string> = {}): Promise<BenchBerth> {
  // Short: conmon's attach socket, STATE/containers/<64 hex>/attach, must fit a socket address (107 bytes).
  const work = mkdtempSync(join(tmpdir(), 'berth-'));
  defer(() => rmSync(work, { recursive: true, force: true }));
  const stateDir = join(work, 'state');
  const runDir = join(work, 'run');
  const workDir = join(work, 'bench');
  mkdirSync(workDir);
  const database = await createDatabase(shared.postgresAdminUrl, 'bench', defer);
  // After the services are killed and before the database goes: it names the networks they made.
  defer(() => removeNetworking(stateDir, env));
  defer(() => removeContainersOf(stateDir));
  const env = berthEnvironment({
    BERTH_STATE_DIR: stateDir,
    BERTH_RUN_DIR: runDir,
    BERTH_POSTGRES_URL: database,
    BERTH_NATS_URL: shared.natsUrl,
    BERTH_LOG_LEVEL: 'info',
    BERTH_LOG_FORMAT: 'json',
    ...testNetworkSettings(),
    ...extraEnv,
  });
  const pids: Record<string, number> = {};
  const outputs: Record<string, string> = {};
  for (const name of names) {
    const child = spawn(process.execPath, [serviceEntry(name)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    defer(() => (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL') ? exited : undefined));
    outputs[name] = '';
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => (outputs[name] += chunk.toString()));
    const endpoint = `unix://${runDir}/${name}.sock`;
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${outputs[name]}`);
        return (await checkHealth(endpoint, { deadlineMs: 500 }).catch(() => undefined)) === 'SERVING' ? true : undefined;
      },
      30_000,
      `${name} to serve`,
    );
    pids[name] = child.pid!;
  }
  return {
    stateDir,
    workDir,
    env,
    endpoint: (service) => `unix://${runDir}/${service}.sock`,
    pid: (service) => pids[service]!,
    output: (service) => outputs[service]!,
  };
}

