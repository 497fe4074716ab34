import type { runtime } from '../../../libs/proto';
import type { ServiceContext } from '../../../libs/service';

/** The RuntimeService RPCs: proto in, domain call, proto out. */
export function runtimeHandlers(context: ServiceContext): runtime.RuntimeServiceServer {
  return {
    info: context.rpc.unary(async () => ({ info: await context.describe() })),
  };
}
