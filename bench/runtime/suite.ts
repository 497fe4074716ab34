import type { CallOptions, Metadata, ServiceError } from '@grpc/grpc-js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createClient, unaryCall } from '../../libs/grpc';
import { runtime } from '../../libs/proto';
import { berth, busyboxLayer } from '../../test/support';
import type { SharedServices } from '../../test/support/shared';
import type { Defer } from '../scope';
import { startBerth, type BenchBerth } from '../services';

/** The image every runtime benchmark runs. */
export const IMAGE = 'busybox-bench';

type RuntimeInvoke<Res> = (
  client: runtime.RuntimeServiceClient,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, response: Res) => void,
) => unknown;

/** An image-store and a runtime-agent with busybox imported as IMAGE, and a client of the agent. */
export interface RuntimeBench {
  berth: BenchBerth;
  /** One unary call to the runtime-agent, its failure as a BerthError. */
  call<Res>(invoke: RuntimeInvoke<Res>): Promise<Res>;
}

export async function startRuntimeBench(shared: SharedServices, defer: Defer, extraEnv: Record<string, string> = {}): Promise<RuntimeBench> {
  const suite = await startBerth(shared, ['image-store', 'runtime-agent'], defer, extraEnv);
  await importBusybox(suite);
  const endpoint = suite.endpoint('runtime-agent');
  // Generous: 50 containers started at once on 2 busy cores queue behind each other.
  const client = createClient(runtime.RuntimeServiceClient, endpoint, { deadlineMs: 120_000 });
  defer(() => client.close());
  return { berth: suite, call: (invoke) => unaryCall(endpoint, (m, o, cb) => invoke(client, m, o, cb)) };
}

/** Debian's busybox-static as a one-layer image named IMAGE, imported as the tests do (test/support/runtime.ts). */
export async function importBusybox(suite: BenchBerth): Promise<void> {
  const tar = join(suite.workDir, 'busybox.tar');
  writeFileSync(tar, gunzipSync((await busyboxLayer()).blob));
  const imported = await berth(['import', '-c', 'CMD ["sh"]', tar, IMAGE], suite.env);
  if (imported.code !== 0) throw new Error(`berth import failed: ${imported.stderr}`);
}

/** The error lines of a service's JSON log. */
export function errorLines(log: string): string {
  return log
    .split('\n')
    .filter((line) => /^\{"level":"(error|fatal)"/.test(line))
    .map((line) => `${line}\n`)
    .join('');
}
