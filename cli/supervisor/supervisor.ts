import { mkdirSync, realpathSync } from 'node:fs';
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import { dockerSocketPath, embeddedPaths, natsConnection, postgresUrl, redactUrl, serviceEndpoint, type Config, type ServiceName } from '../../libs/config';
import { BerthError, failedPrecondition } from '../../libs/errors';
import { checkHealth } from '../../libs/grpc';
import type { Logger } from '../../libs/logging';
import { ensureNatsConfig, natsProcess, waitForNats } from './nats';
import { ensureCluster, postgresProcess, waitForPostgres } from './postgres';
import { ManagedProcess } from './process';

/** Services in start order: each starts after those it depends on. */
const START_ORDER: ServiceName[] = ['image-store', 'volume', 'runtime-agent', 'builder'];
const START_TIMEOUT_MS = 60_000;

export interface Running {
  /** Where everything listens, for a person. */
  summary: string;
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  config: Config;
  logger: Logger;
  /** Aborted by a stop request during start-up: what has started is stopped again. */
  signal: AbortSignal;
  /** Each output line of each process, for the terminal. */
  onLine?: (name: string, line: string) => void;
}

/**
 * Starts the suite on this host: the embedded Postgres and NATS (unless external ones are configured),
 * then the four services, each once the ones it depends on are healthy, then the Docker Engine API
 * (unless dockerApi.enabled is false). Stops in reverse order.
 */
export async function supervise({ config, logger, signal, onLine }: SuperviseOptions): Promise<Running> {
  const logs = embeddedPaths(config).logs;
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  const started: ManagedProcess[] = [];
  const stop = async () => {
    for (const process of [...started].reverse()) {
      logger.info(`stopping ${process.spec.name}`);
      await process.stop();
    }
  };
  const launch = (spec: ManagedProcess['spec']) => {
    if (signal.aborted) throw cancelled('start-up interrupted: stopping what had started');
    const managed = new ManagedProcess(spec, logger, onLine);
    managed.start();
    started.push(managed);
    return managed;
  };

  try {
    if (config.postgres.url === undefined) {
      logger.info('starting the embedded PostgreSQL');
      await ensureCluster(config);
      const postgres = launch(postgresProcess(config, join(logs, 'postgres.log')));
      await orFailure(postgres, waitForPostgres(config, START_TIMEOUT_MS));
    }
    if (config.nats.url === undefined) {
      logger.info('starting the embedded NATS');
      ensureNatsConfig(config);
      const nats = launch(natsProcess(config, join(logs, 'nats.log')));
      await orFailure(nats, waitForNats(config, START_TIMEOUT_MS));
    }
    const launchService = (name: string) =>
      launch({
        name,
        command: process.execPath,
        args: [join(distDir(), 'services', name, 'main.js')],
        // The services read the same configuration; their JSON lines are formatted here for people.
        env: { ...process.env, BERTH_LOG_FORMAT: 'json' },
        stopSignal: 'SIGTERM',
        stopTimeoutMs: 15_000,
        logFile: join(logs, `${name}.log`),
      });
    for (const service of START_ORDER) {
      logger.info(`starting ${service}`);
      await orFailure(launchService(service), waitHealthy(config, service));
    }
    if (config.dockerApi.enabled) {
      logger.info('starting docker-api');
      await orFailure(launchService('docker-api'), waitForDockerApi(dockerSocketPath(config)));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { summary: summary(config), stop };
}

function cancelled(message: string): BerthError {
  return new BerthError('cancelled', message);
}

/** A process that dies while we wait for it is a failed start: say why, with its last words. */
async function orFailure<T>(process: ManagedProcess, waiting: Promise<T>): Promise<T> {
  const died = process.waitForExit().then((code) => {
    const last = process.lastLines().slice(-5).join('\n  ');
    throw failedPrecondition(`${process.spec.name} exited during start-up (code ${code}):\n  ${last}`);
  });
  return Promise.race([waiting, died]);
}

async function waitHealthy(config: Config, service: ServiceName): Promise<void> {
  const endpoint = serviceEndpoint(config, service);
  await pollUntilReady(`${service} did not become healthy`, async () => {
    const status = await checkHealth(endpoint, { deadlineMs: 1_000, tls: config.grpc.tls });
    return status === 'SERVING' || status;
  });
}

/** The Docker Engine API is up when its socket answers a ping. */
async function waitForDockerApi(socketPath: string): Promise<void> {
  await pollUntilReady(`docker-api did not answer on ${socketPath}`, async () => {
    const status = await new Promise<number>((resolve, reject) => get({ socketPath, path: '/_ping', timeout: 1_000 }, (response) => resolve(response.resume().statusCode ?? 0)).once('error', reject));
    return status === 200 || `status ${status}`;
  });
}

/** Asks probe every 100 ms until it answers true; what it last said otherwise (or threw) says why, when time runs out. */
async function pollUntilReady(failure: string, probe: () => Promise<true | string>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const answer = await probe();
      if (answer === true) return;
      last = answer;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw failedPrecondition(`${failure} within ${START_TIMEOUT_MS / 1000} s: ${last}`);
}

/** dist/, found from the running command (dist/bin/berth.mjs): the services are built beside it. */
function distDir(): string {
  return dirname(dirname(realpathSync(process.argv[1]!)));
}

function summary(config: Config): string {
  const paths = embeddedPaths(config);
  const nats = natsConnection(config);
  const rows: Array<[string, string]> = [
    ['postgres', `${redactUrl(postgresUrl(config))}${config.postgres.url === undefined ? ` (embedded, data in ${paths.postgresData})` : ''}`],
    ['nats', `${nats.url}${nats.embedded ? ` (embedded, JetStream in ${paths.natsStore}, token in ${paths.natsToken})` : ''}`],
    ...START_ORDER.map((service): [string, string] => [service, serviceEndpoint(config, service)]),
    ...(config.dockerApi.enabled ? [['docker-api', `unix://${dockerSocketPath(config)}${config.dockerApi.listen === undefined ? '' : `, tcp://${config.dockerApi.listen} (mutual TLS)`}`] as [string, string]] : []),
    ['logs', paths.logs],
  ];
  return rows.map(([name, where]) => `  ${name.padEnd(14)} ${where}`).join('\n');
}
