import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Client } from 'pg';
import type { EventSettings } from '../../libs/events';

export { requirePrerequisites, STRICT, which } from './prerequisites';
export { repoRoot, berthBin, serviceEntry } from './paths';
export { TestNats, freePort } from './nats';
export { startTestPostgres } from './postgres';
export { berth, berthEnvironment, runCommand, type CommandResult } from './berth';
export { processesMentioning } from './processes';
export { buildImage, buildLayer, busyboxLayer, writeOciLayout, type TestImage, type LayerEntry } from './images';
export { startService, startServices, removeContainersOf, removeNetworking, stopChild, testEnvironment, testNetworkSettings, type RunningService, type RunningSuite } from './service';
export { startRegistry, seedRegistry, skopeoCopy, registryManifest, type TestRegistry } from './registry';

/**
 * The run's Postgres and NATS, which test/run.ts starts once and passes on as TEST_POSTGRES_URL and
 * TEST_NATS_URL. Run a single file through it too: `node dist/test/run.js test/libs/events`.
 */
export function sharedServices(): Promise<{ postgresAdminUrl: string; natsUrl: string }> {
  const { TEST_POSTGRES_URL, TEST_NATS_URL } = process.env;
  if (TEST_POSTGRES_URL === undefined || TEST_NATS_URL === undefined) {
    return Promise.reject(new Error('no test services: run tests through `node dist/test/run.js [FILTER]`'));
  }
  return Promise.resolve({ postgresAdminUrl: TEST_POSTGRES_URL, natsUrl: TEST_NATS_URL });
}

/** A fresh database for one test, dropped after it: tests never see each other's rows. */
export async function testDatabase(t: TestContext): Promise<string> {
  const { postgresAdminUrl } = await sharedServices();
  return createDatabase(postgresAdminUrl, 'test', (drop) => t.after(drop));
}

/** A new database on the admin URL's server, its name starting with prefix; onCleanup gets its drop. */
export async function createDatabase(adminUrl: string, prefix: string, onCleanup: (drop: () => Promise<void>) => void): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  onCleanup(async () => void (await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A stream and subject prefix of one test's own, so tests never see each other's events. */
export function testEventSettings(overrides: Partial<EventSettings> = {}): EventSettings {
  const id = randomBytes(5).toString('hex');
  return {
    stream: `TEST_${id.toUpperCase()}`,
    subjectPrefix: `test_${id}.events`,
    maxAgeSeconds: 0,
    maxBytes: -1,
    duplicateWindowSeconds: 120,
    replicas: 1,
    ...overrides,
  };
}

/** Runs one statement as the URL's user; its rows. */
export async function adminQuery<T extends object = object>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** Polls until check() returns a value other than undefined, or fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
export { startRuntime, startImageStoreWithRuntime, importBusybox, berthOk, streamEvents, type RuntimeSuite } from './runtime';
export { startVolumeService, type VolumeSuite } from './volume';
export { rejectsWith } from './assertions';
export { startCluster, CLUSTER_IMAGE, type TestCluster, type TestHost, type TestHub, type ClusterPki, type ClusterProcess } from './cluster';
export { DOCKER_CLI, requireDockerCli, startDockerApi } from './docker-api';
