import { messageOf } from '../../../libs/errors';
import type { RuntimeContext } from './context';
import { recordEvent } from './events';
import { runProcess } from './exec';
import type { Container, Health, HealthCheckSpec } from './model';

const LOG_ENTRIES = 5;
const OUTPUT_BYTES = 4096;

/** Runs a running container's health check on its interval until it stops. */
export function startHealthChecks(context: RuntimeContext, container: Container): void {
  const check = container.spec.healthcheck;
  if (check === undefined) return;
  stopHealthChecks(context, container.id);
  const startedAt = Date.now();
  const schedule = () => {
    const timer = setTimeout(() => {
      void runCheck(context, container.id, check, startedAt)
        .catch((err: unknown) => context.logger.warn({ container: container.id }, `health check: ${messageOf(err)}`))
        .then((running) => {
          if (running === true && context.healthTimers.get(container.id) === timer) schedule();
        });
    }, check.intervalMs);
    timer.unref();
    context.healthTimers.set(container.id, timer);
  };
  schedule();
}

export function stopHealthChecks(context: RuntimeContext, id: string): void {
  clearTimeout(context.healthTimers.get(id));
  context.healthTimers.delete(id);
}

/** One check; resolves with whether the container still runs (and so is checked again). */
async function runCheck(context: RuntimeContext, id: string, check: HealthCheckSpec, startedAt: number): Promise<boolean> {
  const container = await context.repository.get(id);
  if (container?.state !== 'running') return container?.state === 'paused';
  const start = new Date();
  let output = '';
  const collect = (chunk: Buffer) => {
    if (output.length < OUTPUT_BYTES) output += chunk.toString().slice(0, OUTPUT_BYTES - output.length);
  };
  const cmd = check.test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', check.test[1]!] : check.test.slice(1);
  const abort = new AbortController();
  const timeout = setTimeout(() => abort.abort(), check.timeoutMs);
  let exitCode: number;
  try {
    exitCode = await runProcess(context, container, { cmd, env: [], user: '', workingDir: '', privileged: false }, { stdout: collect, stderr: collect }, abort.signal);
    if (abort.signal.aborted) {
      exitCode = -1;
      output = `the health check exceeded its timeout (${check.timeoutMs} ms)`;
    }
  } catch (err) {
    exitCode = -1;
    output = messageOf(err);
  } finally {
    clearTimeout(timeout);
  }
  await context.locks.run(id, async () => {
    const current = await context.repository.get(id);
    if (current?.state !== 'running' || current.health === null) return;
    const health = nextHealth(current.health, check, exitCode, Date.now() - startedAt, { start: start.toISOString(), end: new Date().toISOString(), exitCode, output });
    const updated = await context.db.transaction(async (client) => {
      const row = await context.repository.update(client, id, { health });
      if (health.status !== current.health!.status) await recordEvent(context, client, row, 'health_status', { health_status: health.status });
      return row;
    });
    context.watch.changed(id, updated);
  });
  return true;
}

/** Docker's rules: a pass makes it healthy; retries failures in a row, outside the start period, unhealthy. */
export function nextHealth(previous: Health, check: HealthCheckSpec, exitCode: number, sinceStartMs: number, entry: Health['log'][number]): Health {
  const log = [...previous.log, entry].slice(-LOG_ENTRIES);
  if (exitCode === 0) return { status: 'healthy', failingStreak: 0, log };
  if (sinceStartMs < check.startPeriodMs && previous.status === 'starting') return { ...previous, log };
  const failingStreak = previous.failingStreak + 1;
  return { status: failingStreak >= check.retries ? 'unhealthy' : previous.status, failingStreak, log };
}
