import type { builder } from '../../../libs/proto';
import type { ServiceContext } from '../../../libs/service';

/** The BuilderService RPCs: proto in, domain call, proto out. */
export function builderHandlers(context: ServiceContext): builder.BuilderServiceServer {
  return {
    info: context.rpc.unary(async () => ({ info: await context.describe() })),
  };
}
