import { isBerthError, type BerthError } from '../../libs/errors';
import { unaryCall } from '../../libs/grpc';
import { runtime } from '../../libs/proto';

/** What the clients did: the containers they made (by name), and the errors they could not retry. */
export interface WorkloadResult {
  ids: Map<string, string>;
  /** Failures that are not an outage passing by: each one is a bug. */
  failures: string[];
  /** Outage errors seen and retried, by kind: proof the fault was felt. */
  retried: Map<string, number>;
}

/** An outage a client rides out by trying again: the service, its database or its disk is back soon. */
const RETRYABLE = new Set(['unavailable', 'deadline_exceeded', 'resource_exhausted', 'cancelled']);
const GIVE_UP_AFTER_MS = 90_000;

/**
 * `count` containers, each created, started, stopped and removed, by `clients` clients working side
 * by side, as users of the API would during a fault: every call that fails with an outage is tried
 * again until it passes. A create whose answer was lost is found again by its name (names are
 * unique), so a retried create never makes a second container.
 */
export async function runLifecycles(client: runtime.RuntimeServiceClient, endpoint: string, prefix: string, count: number, clients: number, image: string): Promise<WorkloadResult> {
  const result: WorkloadResult = { ids: new Map(), failures: [], retried: new Map() };
  const call = <Res>(invoke: Parameters<typeof unaryCall<Res>>[1]) => unaryCall<Res>(endpoint, invoke, { deadlineMs: 20_000 });

  async function retrying<T>(what: string, work: () => Promise<T>, accept?: (err: BerthError) => T | undefined): Promise<T> {
    const deadline = Date.now() + GIVE_UP_AFTER_MS;
    for (;;) {
      try {
        return await work();
      } catch (err) {
        const accepted = isBerthError(err) ? accept?.(err) : undefined;
        if (accepted !== undefined) return accepted;
        if (!isBerthError(err) || !RETRYABLE.has(err.kind) || Date.now() > deadline) throw new Error(`${what}: ${isBerthError(err) ? `${err.kind}: ` : ''}${(err as Error).message}`);
        result.retried.set(err.kind, (result.retried.get(err.kind) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  async function lifecycle(name: string): Promise<void> {
    // Every fourth container has a volume of its own, so that the volume service has a part in the work.
    const mounts = Number(name.split('-').at(-1)) % 4 === 0 ? [{ type: 'volume', source: '', target: '/data' }] : [];
    const request = runtime.CreateRequest.fromPartial({ name, config: { image, cmd: { values: ['sleep', '1000'] } }, hostConfig: { mounts } });
    const id = await retrying(
      `create ${name}`,
      async () => (await call<runtime.CreateResponse>((m, o, cb) => client.create(request, m, o, cb))).id,
      // An earlier attempt made it, and only its answer was lost.
      (err) => (err.kind === 'already_exists' ? '' : undefined),
    ).then(async (made) => made || (await call<runtime.InspectResponse>((m, o, cb) => client.inspect({ container: name }, m, o, cb))).container!.id);
    result.ids.set(name, id);
    await retrying(`start ${name}`, () => call((m, o, cb) => client.start({ container: id }, m, o, cb)));
    await retrying(`stop ${name}`, () => call((m, o, cb) => client.stop({ container: id, timeout: 0, signal: '' }, m, o, cb)));
    await retrying(
      `remove ${name}`,
      () => call((m, o, cb) => client.remove({ container: id, force: true, volumes: true }, m, o, cb)),
      // An earlier attempt removed it.
      (err) => (err.kind === 'not_found' ? {} : undefined),
    );
  }

  let next = 0;
  const worker = async () => {
    while (next < count) {
      const name = `${prefix}-${next++}`;
      await lifecycle(name).catch((err: unknown) => result.failures.push((err as Error).message));
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  return result;
}
