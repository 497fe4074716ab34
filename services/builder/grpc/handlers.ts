import { invalidArgument } from '../../../libs/errors';
import { untilTime } from '../../../libs/filters';
import { openUpload } from '../../../libs/grpc';
import type { builder } from '../../../libs/proto';
import type { ServiceContext } from '../../../libs/service';
import { pruneCache, runBuild, type BuilderContext } from '../build';

/** The BuilderService RPCs: proto in, domain call, proto out. */
export function builderHandlers(service: ServiceContext, context: BuilderContext): builder.BuilderServiceServer {
  const { rpc } = service;
  return {
    info: rpc.unary(async () => ({ info: await service.describe() })),

    build: rpc.bidiStream<builder.BuildRequest, builder.BuildResponse>(async (messages, send) => {
      const upload = await openUpload(contextBytes(messages));
      const options = upload.opening?.options;
      if (options === undefined) throw invalidArgument('Build: the first message must carry the options');
      const result = await runBuild(context, options, upload.data, {
        started: (step, total, stage, instruction, line) => send({ event: { $case: 'stepStarted', value: { step, total, stage, instruction, line } } }),
        output: (step, stream, data) => send({ event: { $case: 'output', value: { step, stream, data } } }),
        finished: (step, cached, durationMs) => send({ event: { $case: 'stepFinished', value: { step, cached, durationMs } } }),
      });
      await send({ event: { $case: 'result', value: result } });
    }),

    prune: rpc.unary(async (request: builder.PruneRequest) => pruneCache(context, request.keepNewerThan === '' ? undefined : untilTime(request.keepNewerThan))),
  };
}

/** The stream's messages with their context bytes as `data`, as openUpload reads uploads. */
async function* contextBytes(messages: AsyncIterable<builder.BuildRequest>): AsyncGenerator<builder.BuildRequest & { data: Uint8Array }> {
  for await (const message of messages) yield { ...message, data: message.context };
}
