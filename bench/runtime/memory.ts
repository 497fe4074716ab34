import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupsOf } from '../../services/runtime-agent/cgroups';
import { processesMentioning } from '../../test/support';

/** A process's resident set (VmRSS), in bytes: shared library pages count in every process. */
export function rssBytes(pid: number): number {
  return kilobytes(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS') * 1024;
}

/** A process's proportional set (Pss): shared pages divided among their sharers, what it adds. */
export function pssBytes(pid: number): number {
  return kilobytes(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss') * 1024;
}

/** The conmon processes of the containers under a state directory (their bundles are in it). */
export function conmonPids(stateDir: string): number[] {
  return processesMentioning(stateDir)
    .filter(({ pid }) => readComm(pid) === 'conmon')
    .map(({ pid }) => pid);
}

function readComm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined; // gone meanwhile
  }
}

function kilobytes(text: string, field: string): number {
  const value = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1];
  if (value === undefined) throw new Error(`no ${field} in /proc`);
  return Number(value);
}

/**
 * The memory charged to the cgroup of a process (a container's): memory.current on cgroup v2,
 * memory.usage_in_bytes on v1; both count its processes' pages, the page cache they first touched
 * and the kernel memory charged to it.
 */
export async function cgroupMemoryBytes(pid: number): Promise<number> {
  const { version, paths } = await cgroupsOf(pid);
  const file = version === 1 ? join(paths.get('memory')!, 'memory.usage_in_bytes') : join(paths.get('')!, 'memory.current');
  return Number(readFileSync(file, 'utf8').trim());
}

/** /proc/meminfo's fields, in bytes: what `free` reads ("available" is MemAvailable). */
export function meminfo(): { total: number; available: number; used: number } {
  const text = readFileSync('/proc/meminfo', 'utf8');
  const total = kilobytes(text, 'MemTotal') * 1024;
  const available = kilobytes(text, 'MemAvailable') * 1024;
  return { total, available, used: total - available };
}
