import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { embeddedPaths, type Config } from '../../libs/config';
import { failedPrecondition, unavailable } from '../../libs/errors';
import type { ProcessSpec } from './process';
import { systemUser } from './users';

const run = promisify(execFile);

/** The database and role the services use in the embedded cluster. */
export const EMBEDDED_DATABASE = 'berth';

/** initdb and postgres: the configured directory, else the newest of Debian's /usr/lib/postgresql/N/bin. */
export function postgresBinDir(config: Config): string {
  if (config.embedded.postgresBinDir !== undefined) return config.embedded.postgresBinDir;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw failedPrecondition('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run deploy/setup.sh');
  }
  return join(root, versions[0]!, 'bin');
}

/**
 * Creates the embedded cluster on first use: a data directory owned by the unprivileged Postgres user,
 * reachable only through a unix socket in a directory only that user (and root) can enter.
 */
export async function ensureCluster(config: Config): Promise<void> {
  const paths = embeddedPaths(config);
  const user = systemUser(config.embedded.postgresUser);
  // The Postgres user must be able to pass through the state directory to reach its own.
  chmodSync(config.stateDir, 0o711);
  for (const dir of [paths.postgresRoot, paths.postgresSocketDir]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, user.uid, user.gid);
    chmodSync(dir, 0o700);
  }
  if (existsSync(join(paths.postgresData, 'PG_VERSION'))) return;
  try {
    await run(
      join(postgresBinDir(config), 'initdb'),
      ['-D', paths.postgresData, '-U', EMBEDDED_DATABASE, '--auth-local=trust', '--auth-host=reject', '-E', 'UTF8', '--no-locale'],
      { uid: user.uid, gid: user.gid, cwd: paths.postgresRoot },
    );
  } catch (err) {
    throw failedPrecondition(`initdb failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
}

export function postgresProcess(config: Config, logFile: string): ProcessSpec {
  const paths = embeddedPaths(config);
  const user = systemUser(config.embedded.postgresUser);
  return {
    name: 'postgres',
    command: join(postgresBinDir(config), 'postgres'),
    args: ['-D', paths.postgresData, '-k', paths.postgresSocketDir, '-c', 'listen_addresses=', '-c', 'unix_socket_permissions=0700'],
    cwd: paths.postgresRoot,
    uid: user.uid,
    gid: user.gid,
    env: { LANG: 'C.UTF-8', PATH: process.env.PATH },
    // SIGINT is Postgres's "fast" shutdown: roll back open transactions, checkpoint, exit.
    stopSignal: 'SIGINT',
    stopTimeoutMs: 30_000,
    logFile,
  };
}

/** Waits until the cluster accepts connections, then creates the services' database if missing. */
export async function waitForPostgres(config: Config, timeoutMs: number): Promise<void> {
  const { Client } = await import('pg');
  const host = embeddedPaths(config).postgresSocketDir;
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    const client = new Client({ host, user: EMBEDDED_DATABASE, database: 'postgres' });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DATABASE]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
      return;
    } catch (err) {
      lastError = (err as Error).message;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw unavailable(`the embedded PostgreSQL did not accept connections within ${timeoutMs / 1000} s: ${lastError}`);
}
