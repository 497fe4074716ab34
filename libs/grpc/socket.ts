import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { failedPrecondition } from '../errors';

/** The socket path of a unix:// address. */
export function unixSocketPath(address: string): string {
  return address.replace(/^unix:(\/\/)?/, '');
}

/**
 * Makes the socket's directory root-only and removes a socket left by a process that died, but never
 * one that something still answers on, nor anything that is not a socket (a mistyped address).
 */
export async function prepareUnixSocket(path: string, service: string): Promise<void> {
  const directory = dirname(path);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  chmodSync(directory, 0o700);
  const existing = lstatSync(path, { throwIfNoEntry: false });
  if (existing === undefined) return;
  if (!existing.isSocket()) {
    throw failedPrecondition(`cannot serve ${service} on ${path}: it exists and is not a socket`);
  }
  if (await somethingListens(path)) {
    throw failedPrecondition(`${service} is already running: something answers on ${path}`);
  }
  rmSync(path, { force: true });
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
