import { invalidArgument } from '../../../libs/errors';
import { checkFilterKeys, filterLists } from '../../../libs/filters';
import { openUpload } from '../../../libs/grpc';
import type { volume } from '../../../libs/proto';
import type { ServiceContext } from '../../../libs/service';
import {
  cloneVolume,
  createVolume,
  exportVolume,
  importVolume,
  inspectVolume,
  listVolumes,
  mountVolume,
  pruneVolumes,
  releaseVolume,
  removeVolume,
  unmountVolume,
  useVolume,
  type VolumeContext,
} from '../volumes';
import { toVolumeMessage, toVolumeRequest } from './mapping';

/** The VolumeService RPCs: proto in, domain call, proto out. */
export function volumeHandlers(service: ServiceContext, context: VolumeContext): volume.VolumeServiceServer {
  const { rpc } = service;
  const message = (v: Parameters<typeof toVolumeMessage>[1], sizeBytes?: number) => toVolumeMessage(context.root, v, sizeBytes);
  const required = (value: string, what: string) => {
    if (value === '') throw invalidArgument(`${what} is required`);
    return value;
  };
  return {
    info: rpc.unary(async () => ({ info: await service.describe() })),

    create: rpc.unary(async (request: volume.CreateRequest) => ({ volume: message(await createVolume(context, toVolumeRequest(request))) })),

    inspect: rpc.unary(async (request: volume.InspectRequest) => {
      const { volume: found, sizeBytes } = await inspectVolume(context, required(request.name, 'the volume name'));
      return { volume: message(found, sizeBytes) };
    }),

    list: rpc.unary(async (request: volume.ListRequest) => ({
      volumes: (await listVolumes(context, filterLists(request.filters))).map((v) => message(v)),
    })),

    remove: rpc.unary(async (request: volume.RemoveRequest) => {
      await removeVolume(context, required(request.name, 'the volume name'), request.force);
      return {};
    }),

    prune: rpc.unary(async (request: volume.PruneRequest) => {
      const filters = filterLists(request.filters);
      checkFilterKeys(filters, ['label', 'label!']);
      return pruneVolumes(context, request.all, { label: filters.label ?? [], labelNot: filters['label!'] ?? [] });
    }),

    locate: rpc.unary(async (request: volume.LocateRequest) => ({ locations: await context.repository.locate(request.names) })),

    use: rpc.unary(async (request: volume.UseRequest) => ({
      volume: message(
        await useVolume(context, {
          containerId: required(request.containerId, 'the container id'),
          name: request.name,
          createIfMissing: request.createIfMissing,
          options: request.options,
          labels: request.labels,
        }),
      ),
    })),

    release: rpc.unary(async (request: volume.ReleaseRequest) => ({
      removed: await releaseVolume(context, required(request.containerId, 'the container id'), required(request.name, 'the volume name'), request.removeAnonymous),
    })),

    mount: rpc.unary(async (request: volume.MountRequest) =>
      mountVolume(context, required(request.containerId, 'the container id'), required(request.name, 'the volume name'), request.populateFrom),
    ),

    unmount: rpc.unary(async (request: volume.UnmountRequest) => {
      await unmountVolume(context, required(request.containerId, 'the container id'), required(request.name, 'the volume name'));
      return {};
    }),

    export: rpc.serverStream<volume.ExportRequest, volume.ExportResponse>(async (request, send, call) => {
      await exportVolume(context, required(request.name, 'the volume name'), {
        start: (mountedBy) => send({ mountedBy, data: Buffer.alloc(0) }),
        data: (chunk) => send({ mountedBy: [], data: chunk }),
        signal: call.signal,
      });
    }),

    import: rpc.clientStream<volume.ImportRequest, volume.ImportResponse>(async (messages) => {
      const upload = await openUpload(messages);
      if (upload.opening?.volume === undefined) throw invalidArgument('Import: the first message must name the volume');
      const imported = await importVolume(context, toVolumeRequest(upload.opening.volume), upload.data);
      return { volume: message(imported.volume), entries: imported.entries };
    }),

    clone: rpc.unary(async (request: volume.CloneRequest) => ({
      volume: message(await cloneVolume(context, required(request.source, 'the source volume'), toVolumeRequest(request.target))),
    })),
  };
}
