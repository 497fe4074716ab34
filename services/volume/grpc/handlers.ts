import type { volume } from '../../../libs/proto';
import type { ServiceContext } from '../../../libs/service';

/** The VolumeService RPCs: proto in, domain call, proto out. */
export function volumeHandlers(context: ServiceContext): volume.VolumeServiceServer {
  return {
    info: context.rpc.unary(async () => ({ info: await context.describe() })),
  };
}
