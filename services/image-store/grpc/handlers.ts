import type { imagestore } from '../../../libs/proto';
import type { ServiceContext } from '../../../libs/service';

/** The ImageStoreService RPCs: proto in, domain call, proto out. */
export function imageStoreHandlers(context: ServiceContext): imagestore.ImageStoreServiceServer {
  return {
    info: context.rpc.unary(async () => ({ info: await context.describe() })),
  };
}
