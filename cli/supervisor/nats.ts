import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { embeddedPaths, type Config } from '../../libs/config';
import { unavailable } from '../../libs/errors';
import type { ProcessSpec } from './process';

/**
 * Writes the embedded nats-server's configuration: loopback only, JetStream under the state
 * directory, and a token (readable by root only) that every client must present.
 */
export function ensureNatsConfig(config: Config): void {
  const paths = embeddedPaths(config);
  mkdirSync(paths.natsStore, { recursive: true, mode: 0o700 });
  if (!existsSync(paths.natsToken)) writeFileSync(paths.natsToken, randomBytes(24).toString('hex'), { mode: 0o600 });
  const token = readFileSync(paths.natsToken, 'utf8').trim();
  const text = [
    `listen: "127.0.0.1:${config.embedded.natsPort}"`,
    `server_name: "berth-${config.node}"`,
    `jetstream {`,
    `  store_dir: ${JSON.stringify(paths.natsStore)}`,
    `}`,
    `authorization {`,
    `  token: ${JSON.stringify(token)}`,
    `}`,
    '',
  ].join('\n');
  writeFileSync(paths.natsConfig, text, { mode: 0o600 });
}

export function natsProcess(config: Config, logFile: string): ProcessSpec {
  return {
    name: 'nats',
    command: 'nats-server',
    args: ['-c', embeddedPaths(config).natsConfig],
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 15_000,
    logFile,
  };
}

/** Waits until nats-server accepts TCP connections on its port. */
export async function waitForNats(config: Config, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(config.embedded.natsPort, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw unavailable(`the embedded nats-server did not listen on 127.0.0.1:${config.embedded.natsPort} within ${timeoutMs / 1000} s`);
}
