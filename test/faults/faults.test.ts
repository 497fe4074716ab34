import assert from 'node:assert/strict';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runtime } from '../../libs/proto';
import { createDatabase, requirePrerequisites, startRuntime, startTestPostgres, TestNats, type RunningSuite } from '../support';
import { checkAfterFault, type SuiteState } from './checks';
import { runLifecycles } from './workload';

const IMAGE = 'busybox:test';
/** Containers per fault, and the clients that make them side by side. */
const CONTAINERS = 100;
const CLIENTS = 5;
/** When the fault strikes, after the clients start. */
const FAULT_AFTER_MS = 1_500;

test('faults: a service killed, Postgres restarted, NATS gone for 30 s, the state disk full — nothing lost, duplicated or leaked, every event once', { timeout: 900_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, programs: ['runc', 'conmon', 'nats-server'] })) return;
  // Postgres and NATS of the suite's own, since it stops them.
  const postgres = await startTestPostgres();
  const nats = await TestNats.start();
  const postgresUrl = await createDatabase(postgres.adminUrl, 'faults', () => undefined);
  const suite = await startRuntime(t, IMAGE, { BERTH_POSTGRES_URL: postgresUrl, BERTH_NATS_URL: nats.url }, { volumes: true, builder: true, stateDiskBytes: 256 * 1024 * 1024 });
  // After the services' own cleanup, which reads their database.
  t.after(() => Promise.all([postgres.stop(), nats.destroy()]));
  const { client, endpoint } = suite;

  const residents = new Map<string, number>();
  for (const name of ['resident-1', 'resident-2', 'resident-3']) {
    const { id } = await suite.call<runtime.CreateResponse>((c, m, o, cb) =>
      c.create(runtime.CreateRequest.fromPartial({ name, config: { image: IMAGE, cmd: { values: ['sleep', '100000'] } } }), m, o, cb),
    );
    await suite.call((c, m, o, cb) => c.start({ container: id }, m, o, cb));
    const { container } = await suite.call<runtime.InspectResponse>((c, m, o, cb) => c.inspect({ container: id }, m, o, cb));
    residents.set(id, container!.state!.pid);
  }
  const state: SuiteState = {
    stateDir: suite.stateDir,
    postgresUrl,
    natsUrl: nats.url,
    events: { stream: suite.env.BERTH_EVENTS_STREAM!, subjectPrefix: suite.env.BERTH_EVENTS_SUBJECT_PREFIX! },
    residents,
  };

  const killAndRestart = (service: string) => async () => {
    await suite.services[service]!.kill();
    await pause(1_000);
    await suite.spawn(service);
  };
  const faults: Array<{ name: string; strike: () => Promise<void> }> = [
    ...['runtime-agent', 'image-store', 'volume', 'builder'].map((service) => ({ name: `kill -9 ${service}`, strike: killAndRestart(service) })),
    { name: 'restart Postgres', strike: () => postgres.restart(2_000) },
    {
      name: 'stop NATS for 30 s',
      strike: async () => {
        await nats.stop();
        await pause(30_000);
        await nats.start();
      },
    },
    { name: 'fill the state disk', strike: () => fillDisk(suite.stateDir, 5_000) },
  ];

  // BERTH_FAULTS=postgres runs only the faults whose name contains that text.
  const only = process.env.BERTH_FAULTS ?? '';
  const failed: string[] = [];
  for (const [index, fault] of faults.entries()) {
    if (!fault.name.includes(only)) continue;
    const started = performance.now();
    const work = runLifecycles(client, endpoint, `f${index}`, CONTAINERS, CLIENTS, IMAGE);
    await pause(FAULT_AFTER_MS);
    await fault.strike();
    const workload = await work;
    const { problems, events } = await checkAfterFault(state, workload);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const retried = [...workload.retried].map(([kind, count]) => `${count} ${kind}`).join(', ') || 'none';
    const line = `${fault.name}: ${workload.ids.size} containers in ${seconds} s, ${problems.length === 0 ? 'nothing lost, duplicated or leaked' : `${problems.length} problems`}, ${events} events each once; retried: ${retried}`;
    t.diagnostic(line);
    process.stdout.write(`fault ${line}\n`);
    if (problems.length > 0) failed.push(`${fault.name}:\n  ${[...problems.slice(0, 20), ...serviceErrors(suite)].join('\n  ')}`);
  }
  assert.deepEqual(failed, []);
});

/** The services' lines about INTERNAL answers and crashes: what went wrong where. */
function serviceErrors(suite: RunningSuite): string[] {
  return Object.entries(suite.services).flatMap(([name, service]) =>
    service
      .output()
      .split('\n')
      .filter((line) => /"code":13\b|"level":"fatal"/.test(line) || (line !== '' && !line.startsWith('{')))
      .slice(-5)
      .map((line) => `${name} logged: ${line.slice(0, 600)}`),
  );
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Fills the state disk to the last byte, keeps it full for holdMs, then frees it. */
async function fillDisk(stateDir: string, holdMs: number): Promise<void> {
  const filler = join(stateDir, 'filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  // The last bytes too, that a megabyte did not fit in.
  const small = openSync(filler, 'a');
  try {
    for (;;) writeSync(small, Buffer.alloc(512));
  } catch {
    // full
  } finally {
    closeSync(small);
  }
  await pause(holdMs);
  rmSync(filler);
}
