import { existsSync } from 'node:fs';
import { metrics } from '@opentelemetry/api';
import { hrtime } from 'node:process';
import {
  ConfigError,
  listenAddresses,
  loadConfig,
  metricsAddress,
  natsConnection,
  postgresUrl,
  redactUrl,
  serviceEndpoint,
  type Config,
  type ServiceName,
} from '../config';
import { migrate, openDatabase, type Database } from '../db';
import { isBerthError, messageOf } from '../errors';
import { ensureStream, eventServiceHandlers, EventWriter, NatsLink, outboxMigrationsDir, OutboxRelay } from '../events';
import { handlers, serve, type ClientOptions, type ServiceRegistration } from '../grpc';
import { createLogger, type Logger } from '../logging';
import { descriptorSetPath, events, types } from '../proto';
import type { Telemetry } from '../telemetry';
import { VERSION } from '../version';
import { directoryDependency, type DependencyCheck } from './dependencies';

/** What a service's parts are given to do their work. */
export interface ServiceContext {
  name: ServiceName;
  config: Config;
  logger: Logger;
  db: Database;
  nats: NatsLink;
  /** Records events in the outbox, inside the caller's transaction. */
  events: EventWriter;
  /** Wraps domain functions as gRPC handlers (logging, error mapping, deadlines). */
  rpc: ReturnType<typeof handlers>;
  /** How to call the other services. */
  clientOptions: ClientOptions;
  /** The service's Info: itself and its dependencies, checked now. */
  describe(): Promise<types.ServiceInfo>;
  /** Runs fn when the service stops, after the gRPC server has drained. */
  onStop(fn: () => Promise<void>): void;
}

export interface ServiceSpec {
  name: ServiceName;
  /** The Postgres schema the service owns. */
  schema: string;
  /** The service's SQL migrations (in addition to the outbox's). */
  migrationsDir: string;
  /** Prepares the service's parts (async work such as opening its stores), and returns the gRPC services it serves. */
  services(context: ServiceContext): Promise<ServiceRegistration[]> | ServiceRegistration[];
  /** What it depends on besides Postgres, NATS and its state directory. */
  dependencies?(context: ServiceContext): DependencyCheck[];
}

const STARTUP_DATABASE_WAIT_MS = 30_000;

/**
 * The life of a service process: configuration, logging, schema migration, NATS and the outbox relay,
 * the gRPC server, and an orderly stop on SIGTERM or SIGINT.
 */
export async function runService(spec: ServiceSpec, telemetry: Telemetry): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${spec.name}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ name: spec.name, level: config.log.level, format: config.log.format, base: { node: config.node } });
  try {
    await start(spec, config, logger, telemetry);
  } catch (err) {
    logger.fatal(isBerthError(err) ? {} : { err }, `${spec.name} cannot start: ${messageOf(err)}`);
    await telemetry.shutdown();
    process.exit(1);
  }
}

async function start(spec: ServiceSpec, config: Config, logger: Logger, telemetry: Telemetry): Promise<void> {
  const startedAt = new Date();
  const databaseUrl = postgresUrl(config);
  const db = openDatabase({ url: databaseUrl, schema: spec.schema, applicationName: spec.name });
  await migrateWhenReachable(db, [outboxMigrationsDir(), spec.migrationsDir].filter((dir) => existsSync(dir)), logger);

  const natsTarget = natsConnection(config);
  const nats = new NatsLink({ url: natsTarget.url, token: natsTarget.token, name: `${spec.name}@${config.node}`, logger });
  nats.onConnect((nc) => ensureStream(nc, config.events));
  const relay = new OutboxRelay({ url: databaseUrl, schema: spec.schema, link: nats, settings: config.events, logger });
  relay.start();
  metrics
    .getMeter('berth-events')
    .createObservableGauge('berth_outbox_backlog', { description: 'Events recorded but not yet published to NATS' })
    .addCallback(async (result) => {
      const { rows } = await db.pool.query<{ count: string }>('SELECT count(*) FROM outbox WHERE published_at IS NULL');
      result.observe(Number(rows[0]!.count), { service: spec.name });
    });

  const clientOptions: ClientOptions = { deadlineMs: config.grpc.deadlineMs, tls: config.grpc.tls };
  const stopHooks: Array<() => Promise<void>> = [];
  const addresses = listenAddresses(config, spec.name);
  const context: ServiceContext = {
    name: spec.name,
    config,
    logger,
    db,
    nats,
    events: new EventWriter(spec.name, config.node, config.events.subjectPrefix),
    rpc: handlers(logger),
    clientOptions,
    describe: async () => ({
      service: spec.name,
      version: VERSION,
      node: config.node,
      startedAt,
      uptime: durationSince(startedAt),
      stateRoot: config.stateDir,
      listen: server?.addresses ?? addresses,
      schema: spec.schema,
      dependencies: await Promise.all(checks().map(runCheck)),
    }),
    onStop: (fn) => void stopHooks.push(fn),
  };
  const checks = (): DependencyCheck[] => [
    { name: 'postgres', target: redactUrl(databaseUrl), check: () => db.ping() },
    { name: 'nats', target: natsTarget.url, check: () => nats.check() },
    directoryDependency('state-dir', config.stateDir),
    ...(spec.dependencies?.(context) ?? []),
  ];

  // Every service serves the event stream too: a client asks whichever it reaches.
  const services = [
    ...(await spec.services(context)),
    { name: 'berth.events.v1.EventService', definition: events.EventServiceService, implementation: eventServiceHandlers(context.rpc, nats, config.events) },
  ];
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  server = await serve({
    service: spec.name,
    addresses,
    tls: config.grpc.tls,
    services,
    descriptorSetPath: descriptorSetPath(),
    logger,
  });
  const metricsListen = metricsAddress(config, spec.name);
  if (metricsListen !== undefined) await telemetry.serveMetrics(metricsListen);
  logger.info({ version: VERSION, endpoint: serviceEndpoint(config, spec.name), ...(metricsListen ? { metrics: `http://${metricsListen}/metrics` } : {}) }, `${spec.name} ${VERSION} ready`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: stopping ${spec.name}`);
    await server?.shutdown();
    for (const hook of stopHooks) await hook().catch((err: unknown) => logger.warn(`while stopping: ${messageOf(err)}`));
    await relay.stop();
    await nats.close();
    await db.close();
    await telemetry.shutdown();
    logger.info(`${spec.name} stopped`);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/** Postgres may still be starting (a host boot, `berth up`): wait for it a while before giving up. */
async function migrateWhenReachable(db: Database, directories: string[], logger: Logger): Promise<void> {
  const deadline = Date.now() + STARTUP_DATABASE_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      await migrate(db, directories, logger);
      return;
    } catch (err) {
      if (!isBerthError(err, 'unavailable') || Date.now() > deadline) throw err;
      if (attempt === 1) logger.warn(`${messageOf(err)}; waiting for PostgreSQL`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function runCheck(dependency: DependencyCheck): Promise<types.Dependency> {
  const started = hrtime.bigint();
  const result = await dependency.check();
  const elapsed = hrtime.bigint() - started;
  return {
    name: dependency.name,
    target: dependency.target,
    reachable: result.ok,
    detail: result.detail,
    latency: { seconds: Number(elapsed / 1_000_000_000n), nanos: Number(elapsed % 1_000_000_000n) },
  };
}

function durationSince(start: Date): { seconds: number; nanos: number } {
  const ms = Date.now() - start.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
