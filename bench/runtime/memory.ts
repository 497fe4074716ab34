import { readFileSync } from 'node:fs';
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
