import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { failedPrecondition } from '../errors';

/** The socket path of a unix:// address. */
export function unixSocketPath(address: string): string {
  return address.replace(/^unix:(\/\/)?/, '');
}

/**
 * Makes the socket's directory root-only and removes a socket left by a process that died, but never
 * one that something still answers on.
 */
export async function prepareUnixSocket(path: string, service: string): Promise<void> {
  const directory = dirname(path);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  chmodSync(directory, 0o700);
  if (await somethingListens(path)) {
    throw failedPrecondition(`${service} is already running: something answers on ${path}`);
  }
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function somethingListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
