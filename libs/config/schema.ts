import { parse as parseConnectionString } from 'pg-connection-string';
import { z } from 'zod';

/** The services of the suite, by the names used for sockets, schemas and logs. */
export const SERVICE_NAMES = ['image-store', 'builder', 'runtime-agent', 'volume'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

const absolutePath = z.string().refine((p) => p.startsWith('/'), 'must be an absolute path');

/**
 * Checked with pg's own parser, which accepts what libpq accepts (postgresql:///db?host=/socket/dir).
 * The database must be named: without one pg quietly uses the user's name. The parser gives null, not
 * undefined, for a URL without one.
 */
const postgresUrl = z.string().refine((value) => {
  if (!/^postgres(ql)?:\/\//.test(value)) return false;
  try {
    const { database } = parseConnectionString(value);
    return typeof database === 'string' && database !== '';
  } catch {
    return false;
  }
}, 'is not a PostgreSQL URL (postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE, or ?host=/socket/dir for a unix socket)');

/** One NATS URL, or a cluster's several separated by commas (the client tries each). */
const natsUrl = z.string().refine(
  (value) =>
    value.split(',').every((url) => {
      try {
        return ['nats:', 'tls:'].includes(new URL(url.trim()).protocol);
      } catch {
        return false;
      }
    }),
  'is not a NATS URL (nats://HOST:PORT, or several separated by commas)',
);

/** host:port, for a TCP listener (always with mutual TLS). */
const tcpAddress = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be HOST:PORT');

/** Where a client finds a service: a gRPC target such as unix:///run/berth/volume.sock or dns:host:port. */
const grpcTarget = z.string().regex(/^(unix:|dns:|ipv4:|ipv6:|[A-Za-z0-9.-]+:\d+$)/, 'must be a gRPC target (unix:///path, dns:HOST:PORT or HOST:PORT)');

function isLoopback(address: string): boolean {
  const host = address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

const serviceSection = z.strictObject({
  /** Extra TCP listeners (HOST:PORT), served only with mutual TLS. The unix socket is always served. */
  listen: z.array(tcpAddress).default([]),
  /** Where clients reach the service; defaults to its unix socket under runDir. */
  endpoint: grpcTarget.optional(),
  /** HOST:PORT of a Prometheus endpoint (/metrics) for the service's metrics; off unless set. */
  metricsListen: tcpAddress.optional(),
});

export const configSchema = z.strictObject({
  /** This host's node name in the cluster. */
  node: z.string().min(1).max(253).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a host-name-like word'),
  /** This node's labels (zone=east, disk=ssd), which `berth run --constraint node.labels.KEY==VALUE` matches. */
  nodeLabels: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._\/-]*$/, 'must be a label key'), z.string()).default({}),
  /** Where services keep their state on this host. */
  stateDir: absolutePath.default('/var/lib/berth'),
  /** Sockets and other runtime files (root only). */
  runDir: absolutePath.default('/run/berth'),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
      /** auto: human lines on a terminal, JSON otherwise. */
      format: z.enum(['auto', 'json', 'pretty']).default('auto'),
    })
    .prefault({}),
  postgres: z
    .strictObject({
      /** An external Postgres; unset means the embedded one under stateDir that `berth up` starts. */
      url: postgresUrl.optional(),
    })
    .prefault({}),
  nats: z
    .strictObject({
      /** An external NATS; unset means the embedded one that `berth up` starts. */
      url: natsUrl.optional(),
      /** A token for NATS authentication; the embedded NATS uses one of its own. */
      token: z.string().min(1).optional(),
    })
    .prefault({}),
  events: z
    .strictObject({
      stream: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a JetStream stream name').default('BERTH_EVENTS'),
      subjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be dot-separated NATS tokens').default('berth.events'),
      /** How long JetStream keeps events; 0 keeps them until maxBytes is reached. */
      maxAgeSeconds: z.number().int().min(0).default(0),
      /** How many bytes of events JetStream keeps; -1 for no limit. */
      maxBytes: z.number().int().min(-1).default(-1),
      /** The window in which JetStream drops an event id it has already stored. */
      duplicateWindowSeconds: z.number().int().min(1).default(120),
      /** How many NATS servers keep a copy of the stream: 3 (or 5) on a cluster, so that losing one loses no event. */
      replicas: z.number().int().min(1).max(5).default(1),
    })
    .prefault({}),
  grpc: z
    .strictObject({
      /** The deadline of a client call that sets none. */
      deadlineMs: z.number().int().min(1).default(30_000),
      /** Certificates for TCP (mutual TLS): PEM files. */
      tls: z.strictObject({ ca: absolutePath, cert: absolutePath, key: absolutePath }).optional(),
    })
    .prefault({}),
  /** The Docker Engine API (services/docker-api), for docker's CLI, dockerode and testcontainers. */
  dockerApi: z
    .strictObject({
      /** Whether `berth up` serves it along with the services. */
      enabled: z.boolean().default(true),
      /** Its unix socket (root only); defaults to docker.sock under runDir. */
      socket: absolutePath.optional(),
      /**
       * HOST:PORT to serve it on over TCP as well, with mutual TLS (grpc.tls's CA, certificate and key),
       * as Docker's --tlsverify: only clients with a certificate of that CA are served.
       */
      listen: tcpAddress.optional(),
    })
    .prefault({}),
  services: z
    .strictObject({
      imageStore: serviceSection.prefault({}),
      builder: serviceSection.prefault({}),
      runtimeAgent: serviceSection
        .extend({
          /**
           * HOST:PORT at which the other hosts' agents reach this one (one of its TCP listeners, as they
           * see it), so that a call for a container here can be made to any agent. Defaults to the first
           * listen address unless that is a wildcard (0.0.0.0, [::]).
           */
          advertise: tcpAddress.optional(),
        })
        .prefault({}),
      volume: serviceSection.prefault({}),
    })
    .prefault({}),
  /** How the image-store reaches registries. */
  registries: z
    .strictObject({
      /** Registries (host[:port]) reached over plain HTTP; loopback ones always are, as Docker allows. */
      insecure: z.array(z.string().min(1)).default([]),
      /** The Docker-style credentials file that `berth login` writes and the command line reads. */
      authFile: absolutePath.optional(),
      /** How long to wait for a registry's answer, and for the next bytes of a download. */
      timeoutSeconds: z.number().int().min(1).default(30),
    })
    .prefault({}),
  /** The image-store's OCI distribution API over HTTP, for docker, skopeo and podman. Off unless listen is set. */
  registryServer: z
    .strictObject({
      /** HOST:PORT to serve on; loopback only unless TLS is configured. */
      listen: tcpAddress.optional(),
      /** PEM certificate and key for HTTPS. */
      tls: z.strictObject({ cert: absolutePath, key: absolutePath }).optional(),
    })
    .prefault({})
    .refine((server) => server.listen === undefined || server.tls !== undefined || isLoopback(server.listen), {
      message: 'listens beyond loopback only with TLS (registryServer.tls.cert and .key)',
    }),
  /** The OCI runtime and its monitor; a newer runc or crun can be named here. */
  runtime: z
    .strictObject({
      runc: z.string().min(1).default('runc'),
      conmon: z.string().min(1).default('conmon'),
      /** A container's log is started over when it reaches this many bytes (conmon's --log-size-max). */
      logSizeMax: z.number().int().min(4096).default(100 * 1024 * 1024),
    })
    .prefault({}),
  /** Container networking on this node. */
  network: z
    .strictObject({
      /** The default bridge ("bridge" network): its Linux bridge and subnet. */
      bridgeName: z.string().regex(/^[a-zA-Z0-9_.-]{1,15}$/, 'an interface name of up to 15 characters').default('berth0'),
      bridgeSubnet: z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, 'an IPv4 subnet in CIDR notation').default('10.88.0.0/16'),
      /** Where subnets of new networks are picked (a /24 each) when none is given. */
      pool: z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, 'an IPv4 subnet in CIDR notation').default('10.89.0.0/16'),
    })
    .prefault({}),
  /** The embedded Postgres and NATS that `berth up` runs when no external URL is given. */
  embedded: z
    .strictObject({
      natsPort: z.number().int().min(1).max(65535).default(4222),
      /** Where initdb and postgres are; found under /usr/lib/postgresql when unset. */
      postgresBinDir: absolutePath.optional(),
      /** The unprivileged user that runs the embedded Postgres (it refuses to run as root). */
      postgresUser: z.string().min(1).default('postgres'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;

/**
 * Every environment variable Berth reads, and the config key it sets. An explicit table rather than a
 * naming rule, so that a misspelt BERTH_ variable is reported instead of ignored.
 */
export const ENVIRONMENT: Record<string, { path: string[]; type: 'string' | 'number' | 'list' | 'map' | 'boolean' }> = {
  BERTH_NODE: { path: ['node'], type: 'string' },
  BERTH_NODE_LABELS: { path: ['nodeLabels'], type: 'map' },
  BERTH_STATE_DIR: { path: ['stateDir'], type: 'string' },
  BERTH_RUN_DIR: { path: ['runDir'], type: 'string' },
  BERTH_LOG_LEVEL: { path: ['log', 'level'], type: 'string' },
  BERTH_LOG_FORMAT: { path: ['log', 'format'], type: 'string' },
  BERTH_POSTGRES_URL: { path: ['postgres', 'url'], type: 'string' },
  BERTH_NATS_URL: { path: ['nats', 'url'], type: 'string' },
  BERTH_NATS_TOKEN: { path: ['nats', 'token'], type: 'string' },
  BERTH_EVENTS_STREAM: { path: ['events', 'stream'], type: 'string' },
  BERTH_EVENTS_SUBJECT_PREFIX: { path: ['events', 'subjectPrefix'], type: 'string' },
  BERTH_EVENTS_MAX_AGE_SECONDS: { path: ['events', 'maxAgeSeconds'], type: 'number' },
  BERTH_EVENTS_MAX_BYTES: { path: ['events', 'maxBytes'], type: 'number' },
  BERTH_EVENTS_DUPLICATE_WINDOW_SECONDS: { path: ['events', 'duplicateWindowSeconds'], type: 'number' },
  BERTH_EVENTS_REPLICAS: { path: ['events', 'replicas'], type: 'number' },
  BERTH_GRPC_DEADLINE_MS: { path: ['grpc', 'deadlineMs'], type: 'number' },
  BERTH_TLS_CA: { path: ['grpc', 'tls', 'ca'], type: 'string' },
  BERTH_TLS_CERT: { path: ['grpc', 'tls', 'cert'], type: 'string' },
  BERTH_TLS_KEY: { path: ['grpc', 'tls', 'key'], type: 'string' },
  BERTH_IMAGE_STORE_LISTEN: { path: ['services', 'imageStore', 'listen'], type: 'list' },
  BERTH_IMAGE_STORE_ENDPOINT: { path: ['services', 'imageStore', 'endpoint'], type: 'string' },
  BERTH_IMAGE_STORE_METRICS_LISTEN: { path: ['services', 'imageStore', 'metricsListen'], type: 'string' },
  BERTH_BUILDER_LISTEN: { path: ['services', 'builder', 'listen'], type: 'list' },
  BERTH_BUILDER_ENDPOINT: { path: ['services', 'builder', 'endpoint'], type: 'string' },
  BERTH_BUILDER_METRICS_LISTEN: { path: ['services', 'builder', 'metricsListen'], type: 'string' },
  BERTH_RUNTIME_AGENT_LISTEN: { path: ['services', 'runtimeAgent', 'listen'], type: 'list' },
  BERTH_RUNTIME_AGENT_ENDPOINT: { path: ['services', 'runtimeAgent', 'endpoint'], type: 'string' },
  BERTH_RUNTIME_AGENT_ADVERTISE: { path: ['services', 'runtimeAgent', 'advertise'], type: 'string' },
  BERTH_RUNTIME_AGENT_METRICS_LISTEN: { path: ['services', 'runtimeAgent', 'metricsListen'], type: 'string' },
  BERTH_DOCKER_API_ENABLED: { path: ['dockerApi', 'enabled'], type: 'boolean' },
  BERTH_DOCKER_API_SOCKET: { path: ['dockerApi', 'socket'], type: 'string' },
  BERTH_DOCKER_API_LISTEN: { path: ['dockerApi', 'listen'], type: 'string' },
  BERTH_VOLUME_LISTEN: { path: ['services', 'volume', 'listen'], type: 'list' },
  BERTH_VOLUME_ENDPOINT: { path: ['services', 'volume', 'endpoint'], type: 'string' },
  BERTH_VOLUME_METRICS_LISTEN: { path: ['services', 'volume', 'metricsListen'], type: 'string' },
  BERTH_REGISTRIES_INSECURE: { path: ['registries', 'insecure'], type: 'list' },
  BERTH_REGISTRIES_AUTH_FILE: { path: ['registries', 'authFile'], type: 'string' },
  BERTH_REGISTRIES_TIMEOUT_SECONDS: { path: ['registries', 'timeoutSeconds'], type: 'number' },
  BERTH_REGISTRY_SERVER_LISTEN: { path: ['registryServer', 'listen'], type: 'string' },
  BERTH_REGISTRY_SERVER_TLS_CERT: { path: ['registryServer', 'tls', 'cert'], type: 'string' },
  BERTH_REGISTRY_SERVER_TLS_KEY: { path: ['registryServer', 'tls', 'key'], type: 'string' },
  BERTH_RUNTIME_RUNC: { path: ['runtime', 'runc'], type: 'string' },
  BERTH_RUNTIME_CONMON: { path: ['runtime', 'conmon'], type: 'string' },
  BERTH_RUNTIME_LOG_SIZE_MAX: { path: ['runtime', 'logSizeMax'], type: 'number' },
  BERTH_NETWORK_BRIDGE_NAME: { path: ['network', 'bridgeName'], type: 'string' },
  BERTH_NETWORK_BRIDGE_SUBNET: { path: ['network', 'bridgeSubnet'], type: 'string' },
  BERTH_NETWORK_POOL: { path: ['network', 'pool'], type: 'string' },
  BERTH_EMBEDDED_NATS_PORT: { path: ['embedded', 'natsPort'], type: 'number' },
  BERTH_EMBEDDED_POSTGRES_BIN_DIR: { path: ['embedded', 'postgresBinDir'], type: 'string' },
  BERTH_EMBEDDED_POSTGRES_USER: { path: ['embedded', 'postgresUser'], type: 'string' },
};

/** Variables with a BERTH_ prefix that are not config keys. */
export const CONFIG_FILE_VARIABLE = 'BERTH_CONFIG';
