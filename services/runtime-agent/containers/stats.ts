import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { failedPrecondition } from '../../../libs/errors';
import { readStats } from '../cgroups';
import type { RuntimeContext } from './context';
import { findLocalContainer, requireState } from './lookup';
import type { Container } from './model';

const run = promisify(execFile);

export interface StatsReading {
  read: Date;
  cpuUsageNs: number;
  systemCpuUsageNs: number;
  onlineCpus: number;
  memoryUsage: number;
  memoryLimit: number;
  pids: number;
  blockReadBytes: number;
  blockWriteBytes: number;
}

/** One reading of a running container's cgroups, with the host's CPU time for the percentage. */
export async function readContainerStats(context: RuntimeContext, container: Container): Promise<StatsReading> {
  if (container.state !== 'running' && container.state !== 'paused') throw failedPrecondition(`container ${container.name} is ${container.state}: stats need a running container`);
  const [stats, systemCpuUsageNs] = await Promise.all([readStats(container.pid), systemCpuNs()]);
  return {
    read: new Date(),
    cpuUsageNs: stats.cpuUsageNs,
    systemCpuUsageNs,
    onlineCpus: cpus().length,
    memoryUsage: stats.memoryUsage,
    memoryLimit: stats.memoryLimit ?? totalmem(),
    pids: stats.pids,
    blockReadBytes: stats.blockReadBytes,
    blockWriteBytes: stats.blockWriteBytes,
  };
}

/** Docker's CPU percentage: the container's share of the host's CPU time between two readings, times the CPUs. */
export function cpuPercent(previous: StatsReading | undefined, current: StatsReading): number {
  const cpu = current.cpuUsageNs - (previous?.cpuUsageNs ?? 0);
  const system = current.systemCpuUsageNs - (previous?.systemCpuUsageNs ?? 0);
  return system > 0 && cpu > 0 ? (cpu / system) * current.onlineCpus * 100 : 0;
}

/** The host's CPU time so far (all CPUs, all modes), from /proc/stat, in nanoseconds. */
async function systemCpuNs(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
  const ticks = line.trim().split(/\s+/).slice(1, 8).reduce((sum, field) => sum + Number(field), 0);
  // USER_HZ is 100 on Linux.
  return ticks * 10_000_000;
}

/** `docker top`: the host's `ps` output, only the container's processes. */
export async function topContainer(context: RuntimeContext, text: string, psArgs: string[]): Promise<{ titles: string[]; processes: string[][] }> {
  const container = await findLocalContainer(context, text);
  requireState(container, 'list the processes of', ['running', 'paused']);
  const pids = new Set((await context.runtime.processes(container.id)).map(String));
  // In an async function: execFile throws at once, not in its promise, when it cannot start ps at all
  // (arguments past the kernel's limit: E2BIG), and that is the caller's ps options too.
  const ps = async () => run('ps', psArgs.length > 0 ? psArgs : ['-ef']);
  const { stdout } = await ps().catch((err: { stderr?: string; message?: string }) => {
    throw failedPrecondition(`ps ${psArgs.join(' ')} failed: ${err.stderr?.trim() || err.message || ''}`);
  });
  const [header = '', ...lines] = stdout.trimEnd().split('\n');
  const titles = header.trim().split(/\s+/);
  const pidColumn = titles.indexOf('PID');
  if (pidColumn === -1) throw failedPrecondition('the ps options must include the PID column');
  const processes = lines
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      // The last column (the command) keeps its spaces.
      return [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
    })
    .filter((fields) => pids.has(fields[pidColumn]!));
  return { titles, processes };
}
