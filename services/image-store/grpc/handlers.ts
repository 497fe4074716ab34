import { invalidArgument } from '../../../libs/errors';
import { filterLists } from '../../../libs/filters';
import { openUpload } from '../../../libs/grpc';
import type { imagestore } from '../../../libs/proto';
import type { ServiceContext } from '../../../libs/service';
import { loadImages, saveImages } from '../archive';
import { assertDigest, type ContentStore } from '../content';
import {
  collectGarbage,
  imageHistory,
  importImage,
  inspectImage,
  listImages,
  pruneImages,
  pullImage,
  pushImage,
  putImage,
  releaseBuildCache,
  removeImage,
  resolveForRuntime,
  tagImage,
  type GcLock,
  type ImageContext,
} from '../images';
import { RegistryClient } from '../registry/client';
import { fromDescriptor, toDescriptor, toDetail, toHistoryEntry, toImageConfig, toSummary } from './mapping';

const READ_CHUNK_BYTES = 1024 * 1024;
const UPLOAD_LEASE_MS = 60 * 60 * 1000;

/** The ImageStoreService RPCs: proto in, domain call, proto out. */
export function imageStoreHandlers(
  service: ServiceContext,
  images: ImageContext & { gcLock: GcLock; content: ContentStore },
): imagestore.ImageStoreServiceServer {
  const { rpc } = service;
  return {
    info: rpc.unary(async () => ({ info: await service.describe() })),

    pull: rpc.serverStream<imagestore.PullRequest, imagestore.PullResponse>(async (request, send) => {
      const image = await pullImage(
        images,
        { reference: request.reference, platform: request.platform, credentials: credentialsOf(request.auth) },
        (progress) => void send({ progress: { id: progress.id, status: progress.status, current: progress.current ?? 0, total: progress.total ?? 0 }, image: undefined }),
      );
      await send({ progress: undefined, image: toSummary(image) });
    }),

    push: rpc.serverStream<imagestore.PushRequest, imagestore.PushResponse>(async (request, send) => {
      const pushed = await pushImage(images, { reference: request.reference, credentials: credentialsOf(request.auth) }, (progress) =>
        void send({ progress: { id: progress.id, status: progress.status, current: progress.current ?? 0, total: progress.total ?? 0 }, digest: '', size: 0 }),
      );
      await send({ progress: undefined, digest: pushed.digest, size: pushed.size });
    }),

    login: rpc.unary(async (request: imagestore.LoginRequest) => {
      const registry = request.registry === '' ? 'docker.io' : request.registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
      await new RegistryClient({ registry, credentials: credentialsOf(request.auth), insecureRegistries: images.insecureRegistries, timeoutMs: images.registryTimeoutMs }).ping();
      return { serverAddress: registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry, identityToken: '' };
    }),

    list: rpc.unary(async (request: imagestore.ListRequest) => ({
      images: (await listImages(images, filterLists(request.filters), request.all)).map((image) => toSummary(image)),
    })),

    inspect: rpc.unary(async (request: imagestore.InspectRequest) => {
      const details = await inspectImage(images, request.image);
      return { image: toDetail(details, await imageHistory(images, details.image.id)) };
    }),

    tag: rpc.unary(async (request: imagestore.TagRequest) => ({ target: await tagImage(images, request.source, request.target) })),

    remove: rpc.unary(async (request: imagestore.RemoveRequest) => {
      const removed = await removeImage(images, request.image, { force: request.force, noPrune: request.noPrune });
      if (removed.deleted.length > 0) await collectGarbage(images);
      return removed;
    }),

    prune: rpc.unary(async (request: imagestore.PruneRequest) => pruneImages(images, filterLists(request.filters), request.all)),

    history: rpc.unary(async (request: imagestore.HistoryRequest) => ({
      entries: (await imageHistory(images, request.image)).map(toHistoryEntry),
    })),

    save: rpc.serverStream<imagestore.SaveRequest, imagestore.SaveResponse>(async (request, send, context) => {
      if (request.images.length === 0) throw invalidArgument('Save: name at least one image');
      const { archive, imageIds } = await saveImages(images, request.images);
      context.signal.addEventListener('abort', () => archive.destroy(), { once: true });
      for await (const chunk of archive) await send({ data: chunk as Buffer });
      await images.db.transaction(async (client) => {
        for (const id of imageIds) await images.events.append(client, { type: 'image', action: 'save', actorId: id, attributes: {} });
      });
    }),

    load: rpc.clientStream<imagestore.LoadRequest, imagestore.LoadResponse>(async (messages) => {
      const loaded = await loadImages(images, (await openUpload(messages)).data);
      return { images: loaded.images.map((image) => toSummary(image)), names: loaded.names };
    }),

    import: rpc.clientStream<imagestore.ImportRequest, imagestore.ImportResponse>(async (messages) => {
      const upload = await openUpload(messages);
      const options = upload.opening?.options;
      if (options === undefined) throw invalidArgument('Import: the first message must carry the options');
      const image = await importImage(
        images,
        { reference: options.reference || undefined, changes: options.changes, message: options.message, platform: options.platform },
        upload.data,
      );
      return { image: toSummary(image) };
    }),

    resolve: rpc.unary(async (request: imagestore.ResolveRequest) => {
      const resolved = await resolveForRuntime(images, request.image, request.platform);
      return {
        id: resolved.image.id,
        reference: resolved.reference ?? '',
        rawConfig: resolved.configBytes,
        config: toImageConfig(resolved.config),
        layers: resolved.layers.map(toDescriptor),
        diffIds: resolved.config.rootfs.diff_ids,
      };
    }),

    readBlob: rpc.serverStream<imagestore.ReadBlobRequest, imagestore.ReadBlobResponse>(async (request, send, context) => {
      const { stream, size } = await images.content.read(request.digest, { offset: request.offset, length: request.length });
      context.signal.addEventListener('abort', () => stream.destroy(), { once: true });
      let first = true;
      for await (const chunk of stream) {
        for (let start = 0; start < (chunk as Buffer).length; start += READ_CHUNK_BYTES) {
          await send({ data: (chunk as Buffer).subarray(start, start + READ_CHUNK_BYTES), size: first ? size : 0 });
          first = false;
        }
      }
      if (first) await send({ data: Buffer.alloc(0), size });
    }),

    writeBlob: rpc.clientStream<imagestore.WriteBlobRequest, imagestore.WriteBlobResponse>(async (messages) => {
      const upload = await openUpload(messages);
      if (upload.opening === undefined) throw invalidArgument('WriteBlob: no message: the first must name expected_digest and expected_size');
      const { expectedDigest, expectedSize } = upload.opening;
      assertDigest(expectedDigest);
      if (expectedSize < 0) throw invalidArgument('WriteBlob: expected_size must not be negative');
      const lease = images.leases.acquire(UPLOAD_LEASE_MS);
      lease.add(expectedDigest);
      const written = await images.content.write(expectedDigest, upload.data, { size: expectedSize });
      return { digest: written.digest, size: written.size, alreadyExisted: written.existed };
    }),

    putImage: rpc.unary(async (request: imagestore.PutImageRequest) => {
      const { image, manifest } = await putImage(images, {
        config: Buffer.from(request.config),
        layers: request.layers.map(fromDescriptor),
        tags: request.tags,
        eventAction: request.eventAction,
        buildCache: request.buildCache,
      });
      return { image: toSummary(image), manifest: toDescriptor(manifest) };
    }),

    releaseBuildCache: rpc.unary(async (request: imagestore.ReleaseBuildCacheRequest) => releaseBuildCache(images, request.imageIds)),
  };
}

function credentialsOf(auth: imagestore.RegistryAuth | undefined) {
  if (auth === undefined || (auth.username === '' && auth.identityToken === '')) return undefined;
  return { username: auth.username || undefined, password: auth.password || undefined, identityToken: auth.identityToken || undefined };
}
