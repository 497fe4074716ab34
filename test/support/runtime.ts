import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { connect } from 'nats';
import { subscribeEvents } from '../../libs/events';
import { createClient, unaryCall } from '../../libs/grpc';
import { runtime } from '../../libs/proto';
import { berth } from './berth';
import { busyboxLayer } from './images';
import { sharedServices } from './index';
import { startServices, type RunningService, type RunningSuite } from './service';

export interface RuntimeSuite extends RunningSuite {
  client: runtime.RuntimeServiceClient;
  endpoint: string;
  /** One unary call to the runtime-agent, its failure as a BerthError. */
  call<Res>(invoke: (client: runtime.RuntimeServiceClient, metadata: never, options: never, callback: never) => unknown): Promise<Res>;
}

/**
 * An image-store and a runtime-agent (with `volumes`, a volume service too; with `builder`, a
 * builder) sharing one state directory (a disk of its own of stateDiskBytes, if given), with busybox
 * imported as `image`.
 */
export async function startRuntime(
  t: TestContext,
  image = 'busybox:test',
  extraEnv: Record<string, string> = {},
  options: { volumes?: boolean; builder?: boolean; stateDiskBytes?: number } = {},
): Promise<RuntimeSuite> {
  const names = ['image-store', ...(options.volumes ? ['volume'] : []), 'runtime-agent', ...(options.builder ? ['builder'] : [])];
  const suite = await startServices(t, names, extraEnv, { stateDiskBytes: options.stateDiskBytes });
  await importBusybox(t, suite.env, image);
  const endpoint = suite.services['runtime-agent']!.endpoint;
  const client = createClient(runtime.RuntimeServiceClient, endpoint, { deadlineMs: 60_000 });
  t.after(() => client.close());
  return {
    ...suite,
    client,
    endpoint,
    call: (invoke) => unaryCall(endpoint, (m, o, cb) => invoke(client, m as never, o as never, cb as never)),
  };
}

/** Debian's busybox-static as a one-layer image named `name`, with `sh` as its command. */
export async function importBusybox(t: TestContext, env: NodeJS.ProcessEnv, name: string): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'berth-busybox-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  writeFileSync(join(work, 'rootfs.tar'), gunzipSync((await busyboxLayer()).blob));
  const imported = await berth(['import', '-c', 'CMD ["sh"]', join(work, 'rootfs.tar'), name], env);
  if (imported.code !== 0) throw new Error(`import failed: ${imported.stderr}`);
  return imported.stdout.trim();
}

/** Runs `berth` against the suite and insists that it succeeds; returns its output. */
export async function berthOk(env: NodeJS.ProcessEnv, args: string[], timeoutMs = 60_000): Promise<string> {
  const result = await berth(args, env, timeoutMs);
  if (result.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${result.code}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

/**
 * The events of one type in the suite's stream, from the first, as [action, actor id] pairs, once
 * there are at least `count` of them (or after the timeout, with what there is).
 */
export async function streamEvents(env: NodeJS.ProcessEnv, type: string, count: number, timeoutMs = 15_000): Promise<Array<{ action: string; actorId: string; attributes: Record<string, string> }>> {
  const nc = await connect({ servers: (await sharedServices()).natsUrl });
  const settings = { stream: env.BERTH_EVENTS_STREAM!, subjectPrefix: env.BERTH_EVENTS_SUBJECT_PREFIX! };
  const got: Array<{ action: string; actorId: string; attributes: Record<string, string> }> = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    for await (const { event } of subscribeEvents(nc, { settings, type, since: { sequence: 1 }, signal: controller.signal })) {
      got.push({ action: event.action, actorId: event.actorId, attributes: event.attributes });
      if (got.length >= count) break;
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    await nc.close();
  }
  return got;
}

/**
 * An image-store whose runtime-agent answers whether containers use an image, as `rmi` and
 * `image prune` ask it.
 */
export async function startImageStoreWithRuntime(t: TestContext): Promise<RunningService> {
  return (await startServices(t, ['image-store', 'runtime-agent'])).services['image-store']!;
}
