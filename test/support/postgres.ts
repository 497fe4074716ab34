import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './nats';

const run = promisify(execFile);

export interface TestPostgres {
  /** A superuser URL of the maintenance database. */
  adminUrl: string;
  /** Stops the server (fast shutdown), waits downMs, and starts it again on the same data. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const version = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))[0];
  if (version === undefined) throw new Error('PostgreSQL is not installed: run deploy/setup.sh');
  return join(root, version, 'bin');
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (line === undefined) throw new Error('no postgres user: run deploy/setup.sh');
  const fields = line.split(':');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

export interface TestPostgresOptions {
  /** An address to listen on over TCP too (on a free port): then adminUrl is a TCP URL of it. */
  listen?: string;
  /** A subnet (CIDR) whose clients are trusted over TCP, as a cluster's hosts are. */
  trustSubnet?: string;
}

/**
 * A throwaway PostgreSQL cluster for a test run: initdb into a temporary directory, reachable only
 * through a unix socket there (unless options.listen), with fsync off (the data dies with the run).
 * As root it runs as the postgres user, since Postgres refuses to run as root.
 */
export async function startTestPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-test-pg-'));
  const data = join(dir, 'data');
  const socketDir = join(dir, 'run');
  mkdirSync(socketDir);
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? postgresUser() : undefined;
  if (user !== undefined) {
    chmodSync(dir, 0o711);
    chownSync(dir, user.uid, user.gid);
    chownSync(socketDir, user.uid, user.gid);
  }
  const bin = postgresBinDir();
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'berth', '--auth-local=trust', '--auth-host=reject', '--no-sync', '-E', 'UTF8', '--no-locale'], {
    uid: user?.uid,
    gid: user?.gid,
    cwd: dir,
  });
  // pg_hba.conf is read top down: initdb's lines reject TCP from loopback only, so this one is reached.
  if (options.trustSubnet !== undefined) appendFileSync(join(data, 'pg_hba.conf'), `host all all ${options.trustSubnet} trust\n`);
  const port = options.listen === undefined ? undefined : await freePort(options.listen);
  const listening = options.listen === undefined ? ['-c', 'listen_addresses='] : ['-c', `listen_addresses=${options.listen}`, '-p', String(port)];
  const args = ['-D', data, '-k', socketDir, ...listening, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'];
  // On the socket, "localhost" only makes the URL well-formed: pg connects to the directory in ?host=.
  const adminUrl =
    options.listen === undefined ? `postgresql://berth@localhost/postgres?host=${encodeURIComponent(socketDir)}` : `postgresql://berth@${options.listen}:${port}/postgres`;

  /** Starts the server on the data directory and waits until it takes connections. */
  const launch = async (): Promise<ChildProcess> => {
    const server = spawn(join(bin, 'postgres'), args, { uid: user?.uid, gid: user?.gid, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    server.stderr!.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = new Client({ connectionString: adminUrl });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.end();
        return server;
      } catch {
        await client.end().catch(() => undefined);
        if (server.exitCode !== null || Date.now() > deadline) throw new Error(`test PostgreSQL did not start:\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  /** Fast shutdown: every session is ended, as when an operator restarts the server. */
  const shutDown = async (server: ChildProcess): Promise<void> => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGINT');
    await exited;
  };
  let server = await launch();
  return {
    adminUrl,
    async restart(downMs = 0) {
      await shutDown(server);
      await new Promise((resolve) => setTimeout(resolve, downMs));
      server = await launch();
    },
    async stop() {
      await shutDown(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
