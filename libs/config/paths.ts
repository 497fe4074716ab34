import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config, ServiceName } from './schema';

type SectionKey = keyof Config['services'];

const SECTION: Record<ServiceName, SectionKey> = {
  'image-store': 'imageStore',
  builder: 'builder',
  'runtime-agent': 'runtimeAgent',
  volume: 'volume',
};

/** The unix socket a service always listens on. */
export function socketPath(config: Config, service: ServiceName): string {
  return join(config.runDir, `${service}.sock`);
}

/** Where the Docker Engine API listens. */
export function dockerSocketPath(config: Config): string {
  return config.dockerApi.socket ?? join(config.runDir, 'docker.sock');
}

/** Every address a service listens on, as gRPC bind addresses: its socket, then TCP (mutual TLS). */
export function listenAddresses(config: Config, service: ServiceName): string[] {
  return [`unix://${socketPath(config, service)}`, ...config.services[SECTION[service]].listen];
}

/** Where a service serves its metrics for Prometheus, if anywhere. */
export function metricsAddress(config: Config, service: ServiceName): string | undefined {
  return config.services[SECTION[service]].metricsListen;
}

/** Where a client reaches a service. */
export function serviceEndpoint(config: Config, service: ServiceName): string {
  return config.services[SECTION[service]].endpoint ?? `unix://${socketPath(config, service)}`;
}

/** The files of the embedded Postgres and NATS under the state directory. */
export function embeddedPaths(config: Config) {
  const postgres = join(config.stateDir, 'postgres');
  const nats = join(config.stateDir, 'nats');
  return {
    postgresRoot: postgres,
    postgresData: join(postgres, 'data'),
    postgresSocketDir: join(postgres, 'run'),
    natsRoot: nats,
    natsStore: join(nats, 'jetstream'),
    natsConfig: join(nats, 'nats-server.conf'),
    natsToken: join(nats, 'token'),
    logs: join(config.stateDir, 'logs'),
  };
}

/** The Postgres database that services use, external or embedded. */
export function postgresUrl(config: Config): string {
  if (config.postgres.url !== undefined) return config.postgres.url;
  const socketDir = embeddedPaths(config).postgresSocketDir;
  // "localhost" only makes the URL well-formed: pg connects to the socket directory in ?host=.
  return `postgresql://berth@localhost/berth?host=${encodeURIComponent(socketDir)}`;
}

/** Where NATS is and how to authenticate, external or embedded. */
export function natsConnection(config: Config): { url: string; token?: string; embedded: boolean } {
  if (config.nats.url !== undefined) return { url: config.nats.url, token: config.nats.token, embedded: false };
  let token: string | undefined;
  try {
    token = readFileSync(embeddedPaths(config).natsToken, 'utf8').trim();
  } catch {
    token = undefined; // `berth up` has not created the embedded NATS yet: connecting will fail and be retried
  }
  return { url: `nats://127.0.0.1:${config.embedded.natsPort}`, token, embedded: true };
}

/** The password of a URL's user information, which ends at the last @ before the path, query or fragment. */
const USERINFO_PASSWORD = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:@/?#]*:)[^/?#]+@/;
/** libpq also takes the password as a parameter: postgresql://berth@db/berth?password=... */
const PASSWORD_PARAMETER = /([?&]password=)[^&#]*/gi;

/**
 * A URL with its password removed, for logs and Info. Done on the text rather than with URL, which
 * refuses user information without a host (postgresql://berth:pw@/berth?host=/run/pg, as libpq
 * allows) and would hand such a URL back whole.
 */
export function redactUrl(value: string): string {
  return value.replace(USERINFO_PASSWORD, '$1***@').replace(PASSWORD_PARAMETER, '$1***');
}

/** Where the other hosts' agents reach this host's agent, if anywhere: its advertised or first TCP address. */
export function agentAdvertiseAddress(config: Config): string | undefined {
  const section = config.services.runtimeAgent;
  const first = section.listen[0];
  if (section.advertise !== undefined) return section.advertise;
  return first === undefined || /^(0\.0\.0\.0|\[::\]):/.test(first) ? undefined : first;
}
