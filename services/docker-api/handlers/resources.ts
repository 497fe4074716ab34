import type { BerthClient } from '../../../client';
import { invalidArgument } from '../../../libs/errors';
import type { runtime } from '../../../libs/proto';
import { API_VERSION, flag, sendJson, type Router } from '../http/router';
import { clientGone } from '../http/transfer';
import { isSet } from './create-body';

/** The fields of Docker's update body that Berth can change; any other set field is refused by name. */
const UPDATABLE = new Set(['Memory', 'NanoCpus', 'PidsLimit', 'RestartPolicy']);

/** What a container uses and may use: stats, and update of its limits and restart policy. */
export function resourceRoutes(router: Router, berth: BerthClient): void {
  const { runtime: agent } = berth;

  // Docker's readings, each with the one before (precpu_stats), from which its clients work out CPU use.
  router.on('GET', '/containers/{id}/stats', async ({ params, query, response }) => {
    const stream = query.get('stream') === null || flag(query, 'stream');
    let previous: runtime.StatsResponse | undefined;
    let started = false;
    for await (const reading of agent.stream('stats', { container: params.id!, stream }, { signal: clientGone(response) })) {
      if (!started) {
        response.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION });
        started = true;
      }
      response.write(`${JSON.stringify(dockerStats(reading, previous))}\n`);
      previous = reading;
    }
    response.end();
  });

  router.on('POST', '/containers/{id}/update', async ({ params, json, response }) => {
    const body = await json<{ Memory?: number; NanoCpus?: number; PidsLimit?: number | null; RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null; [field: string]: unknown }>();
    for (const [field, value] of Object.entries(body)) {
      if (!UPDATABLE.has(field) && isSet(value)) throw invalidArgument(`updating ${field} is not supported by Berth: it changes Memory, NanoCpus, PidsLimit and RestartPolicy`);
    }
    const policy = body.RestartPolicy;
    await agent.call('update', {
      container: params.id!,
      resources: { memoryBytes: body.Memory ?? 0, cpus: (body.NanoCpus ?? 0) / 1e9, pidsLimit: body.PidsLimit ?? 0 },
      // Docker's clients send an empty policy when --restart is not given: that keeps the current one.
      restartPolicy: policy?.Name ? { name: policy.Name, maximumRetryCount: policy.MaximumRetryCount ?? 0 } : undefined,
    });
    sendJson(response, 200, { Warnings: [] });
  });
}

/** A reading in Docker's shape, with the fields Berth measures (no network counters: Berth reads none per container). */
function dockerStats(reading: runtime.StatsResponse, previous: runtime.StatsResponse | undefined): Record<string, unknown> {
  const cpu = (of: runtime.StatsResponse | undefined) => ({
    cpu_usage: { total_usage: of?.cpuUsageNs ?? 0 },
    system_cpu_usage: of?.systemCpuUsageNs ?? 0,
    online_cpus: of?.onlineCpus ?? 0,
  });
  return {
    id: reading.id,
    name: `/${reading.name}`,
    read: (reading.read ?? new Date()).toISOString(),
    // Go's zero time, as Docker sends for a first reading.
    preread: previous?.read?.toISOString() ?? '0001-01-01T00:00:00Z',
    cpu_stats: cpu(reading),
    precpu_stats: cpu(previous),
    memory_stats: { usage: reading.memoryUsage, limit: reading.memoryLimit, stats: {} },
    pids_stats: { current: reading.pids },
    blkio_stats: {
      io_service_bytes_recursive: [
        { major: 0, minor: 0, op: 'read', value: reading.blockReadBytes },
        { major: 0, minor: 0, op: 'write', value: reading.blockWriteBytes },
      ],
    },
  };
}
