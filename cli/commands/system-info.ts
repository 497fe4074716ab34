import { loadConfig, SERVICE_NAMES, serviceEndpoint, type ServiceName } from '../../libs/config';
import { invalidArgument, messageOf } from '../../libs/errors';
import { checkHealth, createClient, unaryCall, type ClientOptions, type HealthStatus } from '../../libs/grpc';
import { builder, imagestore, runtime, types, volume } from '../../libs/proto';
import { parseFlags } from '../args';
import { compactDuration, table } from '../output';
import { commandTrace } from '../trace';

interface ServiceReport {
  service: ServiceName;
  endpoint: string;
  health: HealthStatus | 'UNREACHABLE';
  error?: string;
  info?: types.ServiceInfo;
}

const INFO_CLIENTS = {
  'image-store': imagestore.ImageStoreServiceClient,
  builder: builder.BuilderServiceClient,
  'runtime-agent': runtime.RuntimeServiceClient,
  volume: volume.VolumeServiceClient,
} as const;

/** `berth system info [--format table|json]`: each service and what it depends on. */
export async function systemInfo(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { format: { type: 'string', short: 'f', default: 'table', value: 'FORMAT', description: 'Output format: table or json' } }, 'system info');
  if (values.format !== 'table' && values.format !== 'json') throw invalidArgument(`--format must be table or json, not "${values.format}"`);
  const config = loadConfig();
  const options: ClientOptions = { deadlineMs: 5_000, tls: config.grpc.tls };
  const trace = commandTrace();

  const reports = await Promise.all(
    SERVICE_NAMES.map((service) => report(service, serviceEndpoint(config, service), options, trace.metadata)),
  );
  const dependencies = mergeDependencies(reports);
  const healthy = reports.every((r) => r.health === 'SERVING');

  if (values.format === 'json') {
    const json = {
      traceId: trace.traceId,
      healthy,
      services: reports.map((r) => ({
        service: r.service,
        endpoint: r.endpoint,
        health: r.health,
        error: r.error,
        info: r.info === undefined ? undefined : types.ServiceInfo.toJSON(r.info),
      })),
      dependencies,
    };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    process.stdout.write(
      table(
        ['SERVICE', 'VERSION', 'NODE', 'HEALTH', 'UPTIME', 'ENDPOINT'],
        reports.map((r) => [
          r.service,
          r.info?.version ?? '-',
          r.info?.node ?? '-',
          r.health.toLowerCase().replace('_', ' '),
          r.info?.uptime === undefined ? '-' : compactDuration(r.info.uptime.seconds),
          r.endpoint,
        ]),
      ),
    );
    if (dependencies.length > 0) {
      process.stdout.write('\n');
      process.stdout.write(
        table(
          ['DEPENDENCY', 'STATUS', 'TARGET', 'DETAIL'],
          dependencies.map((d) => [d.name, d.reachable ? 'reachable' : 'UNREACHABLE', d.target, d.detail]),
        ),
      );
    }
    for (const r of reports.filter((r) => r.error !== undefined)) process.stderr.write(`${r.service}: ${r.error}\n`);
  }
  return healthy ? 0 : 1;
}

async function report(
  service: ServiceName,
  endpoint: string,
  options: ClientOptions,
  metadata: () => import('@grpc/grpc-js').Metadata,
): Promise<ServiceReport> {
  const client = createClient(INFO_CLIENTS[service] as typeof runtime.RuntimeServiceClient, endpoint, options);
  try {
    const [health, response] = await Promise.all([
      checkHealth(endpoint, options),
      unaryCall<runtime.InfoResponse>(endpoint, (m, o, cb) => client.info({}, m, o, cb), { metadata: metadata() }),
    ]);
    return { service, endpoint, health, info: response.info };
  } catch (err) {
    return { service, endpoint, health: 'UNREACHABLE', error: messageOf(err) };
  } finally {
    client.close();
  }
}

interface DependencyRow {
  name: string;
  target: string;
  reachable: boolean;
  detail: string;
  /** The services that use it. */
  usedBy: string[];
}

/** One row per outside dependency (Postgres, NATS, binaries); services are in the first table. */
function mergeDependencies(reports: ServiceReport[]): DependencyRow[] {
  const rows = new Map<string, DependencyRow>();
  for (const r of reports) {
    for (const d of r.info?.dependencies ?? []) {
      if ((SERVICE_NAMES as readonly string[]).includes(d.name)) continue;
      const key = `${d.name} ${d.target}`;
      const row = rows.get(key);
      if (row === undefined) {
        rows.set(key, { name: d.name, target: d.target, reachable: d.reachable, detail: d.detail, usedBy: [r.service] });
      } else {
        row.usedBy.push(r.service);
        if (!d.reachable) Object.assign(row, { reachable: false, detail: `${r.service}: ${d.detail}` });
      }
    }
  }
  return [...rows.values()];
}
