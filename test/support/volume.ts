import type { TestContext } from 'node:test';
import { createClient, unaryCall } from '../../libs/grpc';
import { volume } from '../../libs/proto';
import { startServices, type RunningSuite } from './service';

export interface VolumeSuite extends RunningSuite {
  client: volume.VolumeServiceClient;
  endpoint: string;
  /** The volumes root of the suite's state directory. */
  root: string;
  /** One unary call to the volume service, its failure as a BerthError. */
  call<Res>(invoke: (client: volume.VolumeServiceClient, metadata: never, options: never, callback: never) => unknown): Promise<Res>;
}

/** A volume service alone, with its own state directory. */
export async function startVolumeService(t: TestContext): Promise<VolumeSuite> {
  const suite = await startServices(t, ['volume']);
  const endpoint = suite.services.volume!.endpoint;
  const client = createClient(volume.VolumeServiceClient, endpoint, { deadlineMs: 60_000 });
  t.after(() => client.close());
  return {
    ...suite,
    client,
    endpoint,
    root: `${suite.stateDir}/volumes`,
    call: (invoke) => unaryCall(endpoint, (m, o, cb) => invoke(client, m as never, o as never, cb as never)),
  };
}
