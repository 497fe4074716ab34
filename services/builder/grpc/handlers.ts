import { invalidArgument } from '../../../libs/errors';
import { untilTime } from '../../../libs/filters';
import type { builder } from '../../../libs/proto';
import type { ServiceContext } from '../../../libs/service';
import { pruneCache, runBuild, type BuilderContext, type ContextEntry, type ContextUpload } from '../build';

/** The BuilderService RPCs: proto in, domain call, proto out. */
export function builderHandlers(service: ServiceContext, context: BuilderContext): builder.BuilderServiceServer {
  const { rpc } = service;
  return {
    info: rpc.unary(async () => ({ info: await service.describe() })),

    build: rpc.bidiStream<builder.BuildRequest, builder.BuildResponse>(async (messages, send) => {
      const requests = messages[Symbol.asyncIterator]();
      const first = await requests.next();
      const options = first.done ? undefined : first.value.options;
      if (options === undefined) throw invalidArgument('Build: the first message must carry the options');
      const upload = await contextUpload(options.contextKey, first.value as builder.BuildRequest, requests, (paths) => send({ event: { $case: 'contextRequest', value: { paths } } }));
      const result = await runBuild(context, options, upload, {
        started: (step, total, stage, instruction, line) => send({ event: { $case: 'stepStarted', value: { step, total, stage, instruction, line } } }),
        output: (step, stream, data) => send({ event: { $case: 'output', value: { step, stream, data } } }),
        finished: (step, cached, durationMs) => send({ event: { $case: 'stepFinished', value: { step, cached, durationMs } } }),
      });
      await send({ event: { $case: 'result', value: result } });
    }),

    prune: rpc.unary(async (request: builder.PruneRequest) => pruneCache(context, request.keepNewerThan === '' ? undefined : untilTime(request.keepNewerThan))),
  };
}

/**
 * The rest of the stream as the context: without a key, a tar; with one, the manifest (in one
 * message or several), then the tar of the files asked for once `askFor` has named them.
 */
async function contextUpload(key: string, first: builder.BuildRequest, requests: AsyncIterator<builder.BuildRequest>, askFor: (paths: string[]) => Promise<void>): Promise<ContextUpload> {
  async function* tar(opening: Uint8Array) {
    if (opening.length > 0) yield opening;
    for (let next = await requests.next(); !next.done; next = await requests.next()) yield next.value.context;
  }
  if (key === '') return { kind: 'tar', tar: tar(first.context) };
  const entries: ContextEntry[] = [];
  for (;;) {
    const next = await requests.next();
    const part = next.done ? undefined : next.value.manifest;
    if (part === undefined) throw invalidArgument('Build: with a context_key, the messages after the options must carry the manifest, up to one that is complete');
    entries.push(...part.entries);
    if (part.complete) break;
  }
  return {
    kind: 'sync',
    key,
    manifest: entries,
    files: async (paths) => {
      await askFor(paths);
      return tar(new Uint8Array());
    },
  };
}
