import { runtime } from '../../libs/proto';
import { IMAGE, type RuntimeBench } from './suite';

/** Creates a container of IMAGE running args; its id. */
export async function createContainer(bench: RuntimeBench, args: string[]): Promise<string> {
  const request = runtime.CreateRequest.fromPartial({ config: { image: IMAGE, cmd: { values: args } } });
  return (await bench.call<runtime.CreateResponse>((c, m, o, cb) => c.create(request, m, o, cb))).id;
}

export async function startContainer(bench: RuntimeBench, id: string): Promise<void> {
  await bench.call<runtime.StartResponse>((c, m, o, cb) => c.start({ container: id }, m, o, cb));
}

/** Waits until the container is not running (Docker's default condition); its exit code. */
export async function waitContainer(bench: RuntimeBench, id: string): Promise<number> {
  const request = { container: id, condition: runtime.WaitCondition.WAIT_CONDITION_UNSPECIFIED };
  const response = await bench.call<runtime.WaitResponse>((c, m, o, cb) => c.wait(request, m, o, cb));
  if (response.error !== '') throw new Error(`container ${id} could not run: ${response.error}`);
  return response.exitCode;
}

export async function removeContainer(bench: RuntimeBench, id: string, force = false): Promise<void> {
  await bench.call<runtime.RemoveResponse>((c, m, o, cb) => c.remove({ container: id, force, volumes: false }, m, o, cb));
}

export async function inspectContainer(bench: RuntimeBench, id: string): Promise<runtime.ContainerDetail> {
  return (await bench.call<runtime.InspectResponse>((c, m, o, cb) => c.inspect({ container: id }, m, o, cb))).container!;
}

/** Creates and starts `count` containers running args, all at once; their ids. */
export function startContainers(bench: RuntimeBench, count: number, args: string[]): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const id = await createContainer(bench, args);
      await startContainer(bench, id);
      return id;
    }),
  );
}

/** Force-removes the containers, all at once. */
export async function removeContainers(bench: RuntimeBench, ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => removeContainer(bench, id, true)));
}
