import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { promisify } from 'node:util';
import { failedPrecondition, invalidArgument } from '../../../libs/errors';

const run = promisify(execFile);

/** The local driver's options, as Docker's: what `mount -t TYPE -o O DEVICE` is given. */
const OPTION_KEYS = ['type', 'device', 'o'];

/**
 * Checks a local volume's options: none (a plain directory), or a type and a device to mount there.
 * A bind's device must be an existing absolute host directory: it is never created, where Docker
 * would refuse.
 */
export function checkedOptions(options: Record<string, string>): Record<string, string> {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw invalidArgument(`invalid option "${key}" for the local volume driver: use type, device and o`);
  }
  if (Object.keys(options).length === 0) return {};
  const { type, device, o = '' } = options;
  if (!type || !device) throw invalidArgument('the local volume driver needs both type and device to mount something (type=tmpfs device=tmpfs, type=none o=bind device=/path)');
  if (/[\s\0]/.test(type + device + o)) throw invalidArgument('the local volume driver options cannot hold spaces');
  if (isBind(options)) {
    if (!isAbsolute(device)) throw invalidArgument(`a bind volume's device must be an absolute host path, not "${device}"`);
    if (!existsSync(device)) throw invalidArgument(`a bind volume's device ${device} does not exist on this host`);
  }
  return { type, device, ...(o !== '' ? { o } : {}) };
}

/** Whether the volume's directory gets a mount of its own (tmpfs, bind, nfs), not only a directory. */
export function mountsDevice(options: Record<string, string>): boolean {
  return options.device !== undefined;
}

/** A tmpfs volume keeps nothing once unmounted. */
export function isTmpfs(options: Record<string, string>): boolean {
  return options.type === 'tmpfs';
}

function isBind(options: Record<string, string>): boolean {
  return (options.o ?? '').split(',').some((o) => o === 'bind' || o === 'rbind');
}

/** Mounts the volume's device on its data directory, unless it is mounted already. */
export async function mountDevice(options: Record<string, string>, target: string): Promise<void> {
  if (await isMountPoint(target)) return;
  const args = ['-t', options.type!, ...(options.o ? ['-o', options.o] : []), options.device!, target];
  try {
    await run('mount', args);
  } catch (err) {
    throw failedPrecondition(`cannot mount the volume's ${options.type} device ${options.device}: ${stderrOf(err)}`);
  }
}

/** Undoes mountDevice; nothing mounted is fine. */
export async function unmountDevice(target: string): Promise<void> {
  if (!(await isMountPoint(target))) return;
  try {
    await run('umount', [target]);
  } catch (err) {
    throw failedPrecondition(`cannot unmount ${target}: ${stderrOf(err)}`);
  }
}

/**
 * Whether something is mounted at path, from the mount table: a bind mount from the same
 * filesystem has the same device number as its parent, so comparing devices would miss it.
 */
export async function isMountPoint(path: string): Promise<boolean> {
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  // Field 5 is the mount point, with space, tab, newline and backslash written as octal escapes.
  const escaped = path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return table.split('\n').some((line) => line.split(' ')[4] === escaped);
}

function stderrOf(err: unknown): string {
  return ((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
}
