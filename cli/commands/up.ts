import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { embeddedPaths, loadConfig, type Config } from '../../libs/config';
import { failedPrecondition, messageOf } from '../../libs/errors';
import { createLogger, humanLogFormatter } from '../../libs/logging';
import { VERSION } from '../../libs/version';
import { parseFlags } from '../args';
import { alreadyRunning, claimUp, releaseUp, runningUp } from '../supervisor/pidfile';
import { supervise } from '../supervisor/supervisor';

/** Messages from a detached `berth up` to the command that started it. */
type UpMessage = { type: 'ready'; summary: string } | { type: 'failed'; message: string };

/**
 * `berth up [-d]`: starts the suite on this host and stays in the foreground, streaming the logs,
 * until Ctrl-C; with -d, in the background (`berth down` stops it).
 */
export async function up(args: string[]): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      detach: { type: 'boolean', short: 'd', default: false, description: 'Run in the background, logging to logs/berth.log in the state directory; `berth down` stops it' },
      supervisor: { type: 'boolean', default: false, hidden: true, description: 'Run as the background supervisor that `berth up -d` starts' },
    },
    'up',
  );
  const config = loadConfig();
  if (values.supervisor) return runSupervisor(config, { detached: true });
  const running = runningUp(config);
  if (running !== undefined) throw alreadyRunning(running);
  if (values.detach) return startDetached(config);
  return runSupervisor(config, { detached: false });
}

async function runSupervisor(config: Config, { detached }: { detached: boolean }): Promise<number> {
  // In the foreground the supervisor's lines and the services' are shown alike: "name | line",
  // formatted for a person unless JSON was asked for. Detached, they go to the log file as JSON.
  const format = config.log.format === 'json' ? (line: string) => `${line}\n` : humanLogFormatter();
  const onLine = detached ? undefined : (name: string, line: string) => process.stdout.write(`${name.padEnd(13)} | ${format(line)}`);
  const logger = createLogger({
    name: 'berth',
    level: config.log.level,
    format: 'json',
    destination: onLine === undefined ? process.stdout : lineWriter((line) => onLine('berth', line)),
  });
  const report = (message: UpMessage) => {
    process.send?.(message);
    // The channel would keep this process alive after the command that started it has gone.
    if (process.connected) process.disconnect();
  };
  try {
    mkdirSync(config.stateDir, { recursive: true, mode: 0o711 });
    claimUp(config);
  } catch (err) {
    report({ type: 'failed', message: messageOf(err) });
    throw err;
  }

  // Listen for a stop from the start: a signal during start-up stops what has started.
  const stopRequested = new AbortController();
  const stop = new Promise<void>((resolve) => {
    for (const name of ['SIGINT', 'SIGTERM'] as const) {
      process.once(name, () => {
        stopRequested.abort();
        resolve();
      });
    }
  });

  let running: Awaited<ReturnType<typeof supervise>>;
  try {
    running = await supervise({ config, logger, signal: stopRequested.signal, onLine });
  } catch (err) {
    releaseUp(config);
    report({ type: 'failed', message: messageOf(err) });
    throw err;
  }
  const ready = `berth ${VERSION} is up on node ${config.node}:\n${running.summary}`;
  logger.info(ready);
  report({ type: 'ready', summary: running.summary });

  await stop;
  logger.info('stopping berth');
  await running.stop();
  releaseUp(config);
  logger.info('berth stopped');
  return 0;
}

/** A stream that hands each line written to it to fn. */
function lineWriter(fn: (line: string) => void): NodeJS.WritableStream {
  let pending = '';
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop()!;
      for (const line of lines) fn(line);
      done();
    },
  });
}

/** Starts the supervisor in its own session, and returns once it says the suite is up (or failed). */
async function startDetached(config: Config): Promise<number> {
  const logs = embeddedPaths(config).logs;
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  const output = openSync(join(logs, 'berth.log'), 'a', 0o600);
  const child = spawn(process.execPath, [process.argv[1]!, 'up', '--supervisor'], {
    detached: true,
    stdio: ['ignore', output, output, 'ipc'],
    env: process.env,
  });
  const message = await new Promise<UpMessage>((resolve) => {
    child.once('message', (m) => resolve(m as UpMessage));
    child.once('exit', (code) =>
      resolve({ type: 'failed', message: `berth up exited during start-up (code ${code}); see ${join(logs, 'berth.log')}` }),
    );
  });
  if (child.connected) child.disconnect();
  child.unref();
  if (message.type === 'failed') throw failedPrecondition(message.message);
  process.stdout.write(`berth ${VERSION} is up on node ${config.node} (pid ${child.pid}):\n${message.summary}\n`);
  return 0;
}
