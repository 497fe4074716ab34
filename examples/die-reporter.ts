/**
 * An automation on Berth's events: when a container dies with a non-zero exit code, post its last
 * log lines to a webhook. It uses only the public API (the generated gRPC clients of proto/) and
 * resumes where it stopped: the last sequence it handled is kept in a file, so a restart of this
 * program (or of Berth, or of NATS) misses no death and reports none twice.
 *
 *   BERTH_ENDPOINT=unix:///run/berth/runtime-agent.sock WEBHOOK_URL=http://127.0.0.1:8080/hook \
 *     STATE_FILE=/var/lib/die-reporter/sequence node dist/examples/die-reporter.js
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ServiceError } from '@grpc/grpc-js';
import { createClient } from '../libs/grpc';
import { events, runtime } from '../libs/proto';

const LOG_LINES = 20;

interface Settings {
  endpoint: string;
  webhook: string;
  stateFile: string;
}

/** Follows the die events from the sequence after the last one handled, until the signal aborts. */
export async function reportDeaths(settings: Settings, signal: AbortSignal): Promise<void> {
  const eventService = createClient(events.EventServiceClient, settings.endpoint, { deadlineMs: 30_000 });
  const containers = createClient(runtime.RuntimeServiceClient, settings.endpoint, { deadlineMs: 30_000 });
  const last = lastHandled(settings.stateFile);
  const stream = eventService.subscribe(
    { filters: { type: { values: ['container'] }, event: { values: ['die'] } }, since: { $case: 'sinceSequence', value: last + 1 }, until: undefined },
    { deadline: Infinity },
  );
  signal.addEventListener('abort', () => stream.cancel(), { once: true });
  try {
    for await (const { sequence, event } of stream as AsyncIterable<events.SubscribeResponse>) {
      const exitCode = Number(event!.attributes.exitCode ?? '0');
      if (exitCode !== 0) await post(settings.webhook, { container: event!.attributes.name, id: event!.actorId, exitCode, logs: await lastLines(containers, event!.actorId) });
      // Kept only once handled: a crash before this line reports the death again, never skips it.
      writeFileSync(settings.stateFile, String(sequence));
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    eventService.close();
    containers.close();
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
async function lastLines(client: runtime.RuntimeServiceClient, container: string): Promise<string[]> {
  const lines: string[] = [];
  try {
    for await (const entry of client.logs({ container, follow: false, tail: LOG_LINES, since: undefined, until: undefined, noStdout: false, noStderr: false }) as AsyncIterable<runtime.LogsResponse>) {
      lines.push(...Buffer.from(entry.data).toString('utf8').split('\n').filter((line) => line !== ''));
    }
  } catch (err) {
    if ((err as ServiceError).code !== 5 /* NOT_FOUND */) throw err;
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
    endpoint: process.env.BERTH_ENDPOINT ?? 'unix:///run/berth/runtime-agent.sock',
    webhook: process.env.WEBHOOK_URL ?? '',
    stateFile: process.env.STATE_FILE ?? 'die-reporter.sequence',
  };
  if (settings.webhook === '') throw new Error('set WEBHOOK_URL');
  reportDeaths(settings, controller.signal).catch((err: unknown) => {
    process.stderr.write(`die-reporter: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
