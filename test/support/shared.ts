import { existsSync } from 'node:fs';
import { startTestPostgres } from './postgres';
import { TestNats } from './nats';

/** The Postgres and NATS that a test run shares; each test takes its own database and stream in them. */
export interface SharedServices {
  postgresAdminUrl: string;
  natsUrl: string;
  /** What provides them: "local binaries" or "testcontainers". */
  provider: string;
  stop(): Promise<void>;
}

/**
 * Starts the run's Postgres and NATS: with testcontainers' modules where a Docker engine answers,
 * else from Debian's binaries on this machine (as here, where no engine runs).
 */
export async function startSharedServices(): Promise<SharedServices> {
  if (await dockerEngineAnswers()) return startWithTestcontainers();
  const postgres = await startTestPostgres();
  const nats = await TestNats.start();
  return {
    postgresAdminUrl: postgres.adminUrl,
    natsUrl: nats.url,
    provider: 'local binaries',
    async stop() {
      await Promise.all([postgres.stop(), nats.destroy()]);
    },
  };
}

async function dockerEngineAnswers(): Promise<boolean> {
  if (process.env.DOCKER_HOST === undefined && !existsSync('/var/run/docker.sock')) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function startWithTestcontainers(): Promise<SharedServices> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { GenericContainer, Wait } = await import('testcontainers');
  const [postgres, nats] = await Promise.all([
    new PostgreSqlContainer('postgres:15').withCommand(['-c', 'fsync=off', '-c', 'max_connections=300']).start(),
    new GenericContainer('nats:2.9').withCommand(['-js']).withExposedPorts(4222).withWaitStrategy(Wait.forLogMessage(/Server is ready/)).start(),
  ]);
  return {
    postgresAdminUrl: postgres.getConnectionUri(),
    natsUrl: `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`,
    provider: 'testcontainers',
    async stop() {
      await Promise.all([postgres.stop(), nats.stop()]);
    },
  };
}
