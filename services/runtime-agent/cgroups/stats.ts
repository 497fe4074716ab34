import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const ROOT = '/sys/fs/cgroup';

/** What `docker stats` shows, read from a container's cgroups. */
export interface CgroupStats {
  /** CPU time used, in nanoseconds. */
  cpuUsageNs: number;
  /** Memory in use, less the inactive page cache (as the docker CLI computes it). */
  memoryUsage: number;
  /** The memory limit in bytes; undefined when unlimited. */
  memoryLimit?: number;
  pids: number;
  /** undefined when unlimited. */
  pidsLimit?: number;
  blockReadBytes: number;
  blockWriteBytes: number;
}

/** The cgroup of each controller of a process: v1 lists one per hierarchy, v2 a single "0::" line. */
export async function cgroupsOf(pid: number): Promise<{ version: 1 | 2; paths: Map<string, string> }> {
  const text = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  const paths = new Map<string, string>();
  let unified: string | undefined;
  for (const line of text.trim().split('\n')) {
    const [, controllers, path] = line.split(':') as [string, string, string];
    if (controllers === '') unified = path;
    for (const controller of controllers.split(',')) if (controller !== '') paths.set(controller, join(ROOT, controller, path));
  }
  // A v1 host also shows a "0::" line for its unified hierarchy: v1 when any v1 controller is listed.
  if (paths.has('memory') || paths.has('cpuacct')) return { version: 1, paths };
  return { version: 2, paths: new Map([['', join(ROOT, unified ?? '/')]]) };
}

async function read(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function number(path: string): Promise<number | undefined> {
  const text = await read(path);
  return text === undefined || text === 'max' ? undefined : Number(text);
}

function keyed(text: string | undefined): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text?.split('\n') ?? []) {
    const [key, value] = line.trim().split(/\s+/);
    if (key !== undefined && value !== undefined) values.set(key, Number(value));
  }
  return values;
}

/** A v1 memory limit this large means none (the kernel's "unlimited", rounded to the page size). */
const V1_UNLIMITED = 2 ** 62;

/** The resource use of the cgroups of a container's process (its pid on the host). */
export async function readStats(pid: number): Promise<CgroupStats> {
  const { version, paths } = await cgroupsOf(pid);
  if (version === 1) {
    const memory = paths.get('memory')!;
    const limit = await number(join(memory, 'memory.limit_in_bytes'));
    const stat = keyed(await read(join(memory, 'memory.stat')));
    const io = blkio(await read(join(paths.get('blkio') ?? '', 'blkio.throttle.io_service_bytes_recursive')));
    return {
      cpuUsageNs: (await number(join(paths.get('cpuacct') ?? '', 'cpuacct.usage'))) ?? 0,
      memoryUsage: Math.max(0, ((await number(join(memory, 'memory.usage_in_bytes'))) ?? 0) - (stat.get('total_inactive_file') ?? 0)),
      memoryLimit: limit === undefined || limit >= V1_UNLIMITED ? undefined : limit,
      pids: (await number(join(paths.get('pids') ?? '', 'pids.current'))) ?? 0,
      pidsLimit: await number(join(paths.get('pids') ?? '', 'pids.max')),
      blockReadBytes: io.read,
      blockWriteBytes: io.write,
    };
  }
  const dir = paths.get('')!;
  const stat = keyed(await read(join(dir, 'memory.stat')));
  let read_ = 0;
  let write = 0;
  for (const line of (await read(join(dir, 'io.stat')))?.split('\n') ?? []) {
    read_ += Number(/rbytes=(\d+)/.exec(line)?.[1] ?? 0);
    write += Number(/wbytes=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return {
    cpuUsageNs: (keyed(await read(join(dir, 'cpu.stat'))).get('usage_usec') ?? 0) * 1000,
    memoryUsage: Math.max(0, ((await number(join(dir, 'memory.current'))) ?? 0) - (stat.get('inactive_file') ?? 0)),
    memoryLimit: await number(join(dir, 'memory.max')),
    pids: (await number(join(dir, 'pids.current'))) ?? 0,
    pidsLimit: await number(join(dir, 'pids.max')),
    blockReadBytes: read_,
    blockWriteBytes: write,
  };
}

function blkio(text: string | undefined): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text?.split('\n') ?? []) {
    const [, operation, value] = line.trim().split(/\s+/);
    if (operation === 'Read') read += Number(value);
    if (operation === 'Write') write += Number(value);
  }
  return { read, write };
}
