/**
 * An automation on Berth's events: when a container dies with a non-zero exit code, post its last
 * log lines to a webhook. It uses only the public client (`berth/client`) and
 * resumes where it stopped: the last sequence it handled is kept in a file, so a restart of this
 * program (or of Berth, or of NATS) misses no death and reports none twice.
 *
 *   WEBHOOK_URL=http://127.0.0.1:8080/hook STATE_FILE=/var/lib/die-reporter/sequence \
 *     node dist/examples/die-reporter.js
 *
 * It finds Berth as the command line does (BERTH_RUNTIME_AGENT_ENDPOINT, BERTH_TLS_*, the config file).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { connectBerth, isBerthError, type BerthClient } from '../client';
import { loadConfig, serviceEndpoint } from '../libs/config';

const LOG_LINES = 20;

interface Settings {
  endpoint: string;
  webhook: string;
  stateFile: string;
}

/** Follows the die events from the sequence after the last one handled, until the signal aborts. */
export async function reportDeaths(settings: Settings, signal: AbortSignal): Promise<void> {
  const berth = connectBerth({ endpoints: { 'runtime-agent': settings.endpoint } });
  const deaths = berth.events.stream(
    'subscribe',
    { filters: { type: { values: ['container'] }, event: { values: ['die'] } }, since: { $case: 'sinceSequence', value: lastHandled(settings.stateFile) + 1 }, until: undefined },
    { signal },
  );
  try {
    for await (const { sequence, event } of deaths) {
      const exitCode = Number(event!.attributes.exitCode ?? '0');
      if (exitCode !== 0) await post(settings.webhook, { container: event!.attributes.name, id: event!.actorId, exitCode, logs: await lastLines(berth, event!.actorId) });
      // Kept only once handled: a crash before this line reports the death again, never skips it.
      writeFileSync(settings.stateFile, String(sequence));
    }
  } finally {
    berth.close();
  }
}

function lastHandled(stateFile: string): number {
  try {
    return Number(readFileSync(stateFile, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

/** The container's last log lines (it may be gone already, with --rm: then there are none). */
async function lastLines(berth: BerthClient, container: string): Promise<string[]> {
  const lines: string[] = [];
  try {
    for await (const entry of berth.runtime.stream('logs', { container, follow: false, tail: LOG_LINES, since: undefined, until: undefined, noStdout: false, noStderr: false })) {
      lines.push(...Buffer.from(entry.data).toString('utf8').split('\n').filter((line) => line !== ''));
    }
  } catch (err) {
    if (!isBerthError(err, 'not_found')) throw err;
  }
  return lines.slice(-LOG_LINES);
}

async function post(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`the webhook answered ${response.status}`);
}

if (require.main === module) {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort()).once('SIGTERM', () => controller.abort());
  const settings = {
    endpoint: serviceEndpoint(loadConfig(), 'runtime-agent'),
    webhook: process.env.WEBHOOK_URL ?? '',
    stateFile: process.env.STATE_FILE ?? 'die-reporter.sequence',
  };
  if (settings.webhook === '') throw new Error('set WEBHOOK_URL');
  reportDeaths(settings, controller.signal).catch((err: unknown) => {
    process.stderr.write(`die-reporter: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
