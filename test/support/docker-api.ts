import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { eventually } from './index';
import { serviceEntry } from './paths';
import { STRICT } from './prerequisites';
import type { RuntimeSuite } from './runtime';
import { stopChild } from './service';

/**
 * The Docker Engine API of a running suite, on a socket under its run directory unless extraEnv names
 * another (and on TCP too when it sets BERTH_DOCKER_API_LISTEN); resolves with the socket's path.
 */
export async function startDockerApi(t: TestContext, suite: RuntimeSuite, extraEnv: Record<string, string> = {}): Promise<string> {
  const socket = extraEnv.BERTH_DOCKER_API_SOCKET ?? join(suite.runDir, 'docker.sock');
  const child = spawn(process.execPath, [serviceEntry('docker-api')], { env: { ...suite.env, BERTH_DOCKER_API_SOCKET: socket, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
  t.after(() => stopChild(child, 'SIGTERM'));
  await eventually(() => (existsSync(socket) ? true : undefined), 15_000, `the docker-api socket:\n${output}`);
  return socket;
}

/** Debian's docker client, as deploy/setup.sh unpacks it (without its daemon). */
export const DOCKER_CLI = '/usr/local/lib/berth/docker-cli/docker';

/** Whether the docker client is there: missing, it fails the test under CI=true and skips it otherwise. */
export function requireDockerCli(t: TestContext): boolean {
  if (existsSync(DOCKER_CLI)) return true;
  if (STRICT) assert.fail(`${DOCKER_CLI} is missing: deploy/setup.sh fetches it`);
  t.skip(`${DOCKER_CLI} is missing: run deploy/setup.sh`);
  return false;
}
