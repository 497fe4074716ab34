import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../libs/config';
import { failedPrecondition } from '../../libs/errors';

/** What the running `berth up` wrote about itself. */
export interface UpRecord {
  pid: number;
  stateDir: string;
  startedAt: string;
}

export function pidFilePath(config: Config): string {
  return join(config.runDir, 'berth-up.pid');
}

/** The `berth up` that runs now for this run directory, if any; a record left by a dead one is removed. */
export function runningUp(config: Config): UpRecord | undefined {
  const path = pidFilePath(config);
  let record: UpRecord;
  try {
    record = JSON.parse(readFileSync(path, 'utf8')) as UpRecord;
  } catch {
    return undefined;
  }
  if (isBerthProcess(record.pid)) return record;
  try {
    unlinkSync(path);
  } catch {
    // removed meanwhile
  }
  return undefined;
}

/** Records this process as the running `berth up`, or refuses if another one runs. */
export function claimUp(config: Config): void {
  const running = runningUp(config);
  if (running !== undefined) throw alreadyRunning(running);
  mkdirSync(config.runDir, { recursive: true, mode: 0o700 });
  const record: UpRecord = { pid: process.pid, stateDir: config.stateDir, startedAt: new Date().toISOString() };
  try {
    writeFileSync(pidFilePath(config), JSON.stringify(record), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw alreadyRunning(runningUp(config) ?? record);
  }
}

export function releaseUp(config: Config): void {
  try {
    const record = JSON.parse(readFileSync(pidFilePath(config), 'utf8')) as UpRecord;
    if (record.pid === process.pid) unlinkSync(pidFilePath(config));
  } catch {
    // nothing to release
  }
}

export function alreadyRunning(record: UpRecord) {
  return failedPrecondition(
    `berth is already running (pid ${record.pid}, state directory ${record.stateDir}, since ${record.startedAt}); \`berth down\` stops it`,
  );
}

/** A live process whose command line is a berth one: a recycled pid must not count. */
export function isBerthProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('berth');
  } catch {
    return false;
  }
}
