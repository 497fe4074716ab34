import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { berth, berthBin, berthOk, eventually, startServices } from '../support';

interface JsonEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  sequence: number;
}

const parse = (output: string): JsonEvent[] => output.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as JsonEvent);
const names = (events: JsonEvent[]) => events.map((event) => `${event.Action} ${event.Actor.ID}`);

test('berth events: replay from a sequence or a time gives exactly the missed events; a subscriber that resumes misses nothing and sees nothing twice', { timeout: 120_000 }, async (t) => {
  const suite = await startServices(t, ['volume']);
  // Every service serves the event stream: the command line asks the volume service here.
  const env = { ...suite.env, BERTH_RUNTIME_AGENT_ENDPOINT: suite.services.volume!.endpoint };
  const replay = async (...args: string[]) => parse(await berthOk(env, ['events', '--until', '0s', '--format', 'json', '--filter', 'type=volume', ...args]));

  for (const name of ['v1', 'v2', 'v3', 'v4', 'v5']) await berthOk(env, ['volume', 'create', '--label', `n=${name}`, name]);
  const all = await eventually(async () => {
    const events = await replay('--since-sequence', '1');
    return events.length === 5 ? events : undefined;
  }, 10_000, 'the five create events');
  assert.deepEqual(names(all), ['create v1', 'create v2', 'create v3', 'create v4', 'create v5']);
  assert.ok(all.every((event, index) => index === 0 || event.sequence > all[index - 1]!.sequence), 'in stream order');

  // From a sequence: exactly what came after it.
  assert.deepEqual(names(await replay('--since-sequence', String(all[2]!.sequence + 1))), ['create v4', 'create v5']);
  // Up to a sequence.
  const upTo = parse(await berthOk(env, ['events', '--format', 'json', '--filter', 'type=volume', '--since-sequence', '1', '--until-sequence', String(all[1]!.sequence)]));
  assert.deepEqual(names(upTo), ['create v1', 'create v2']);
  // By time, and by Docker's filters.
  assert.equal((await replay('--since', '10m')).length, 5);
  assert.deepEqual(names(await replay('--since-sequence', '1', '--filter', 'volume=v3')), ['create v3']);
  assert.deepEqual(names(await replay('--since-sequence', '1', '--filter', 'label=n=v4')), ['create v4']);

  // A subscriber follows from where the replay ends into live events, leaves, and resumes from its last sequence.
  const live = spawn(process.execPath, [berthBin(), 'events', '--format', 'json', '--filter', 'type=volume', '--since-sequence', String(all[4]!.sequence + 1)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => live.kill('SIGKILL'));
  const lines = createInterface({ input: live.stdout! })[Symbol.asyncIterator]();
  const next = () =>
    Promise.race([
      lines.next().then((line) => JSON.parse(line.value as string) as JsonEvent),
      new Promise<JsonEvent>((_, reject) => setTimeout(() => reject(new Error('no event reached the subscriber')), 10_000)),
    ]);
  await berthOk(env, ['volume', 'create', 'v6']);
  const seen = [await next()];
  await berthOk(env, ['volume', 'rm', 'v1']);
  seen.push(await next());
  assert.deepEqual(names(seen), ['create v6', 'destroy v1']);
  live.kill('SIGINT');
  assert.equal(await new Promise((resolve) => live.once('exit', resolve)), 0, 'Ctrl-C ends a followed stream quietly');

  // Missed while away: one create, one removal.
  await berthOk(env, ['volume', 'create', 'v7']);
  await berthOk(env, ['volume', 'rm', 'v2']);
  const resumed = await replay('--since-sequence', String(seen.at(-1)!.sequence + 1));
  assert.deepEqual(names(resumed), ['create v7', 'destroy v2'], 'exactly the missed ones, none twice');
  assert.deepEqual(names(await replay('--since-sequence', '1', '--filter', 'event=destroy')), ['destroy v1', 'destroy v2']);

  const bad = await berth(['events', '--filter', 'colour=red', '--until', '0s'], env);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid filter "colour"/);
});
