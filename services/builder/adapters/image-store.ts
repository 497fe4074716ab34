import type { ServiceError } from '@grpc/grpc-js';
import { isBerthError } from '../../../libs/errors';
import { fromServiceError, unaryCall } from '../../../libs/grpc';
import { imageExists, writeBlobFromFile } from '../../../libs/image-store';
import type { imagestore } from '../../../libs/proto';
import type { BuildState, ImageConfigJson, LayerRef } from '../build/state';

/** A base image as the build starts from it. */
export interface BaseImage {
  id: string;
  config: ImageConfigJson;
  layers: LayerRef[];
}

/** The image-store as the builder uses it: base images in, layers and images out. */
export class ImageStore {
  constructor(
    private readonly client: imagestore.ImageStoreServiceClient,
    private readonly endpoint: string,
  ) {}

  /** A base image, pulled first when the store lacks it, as `docker build` does. */
  async base(image: string, platform: string): Promise<BaseImage> {
    try {
      return await this.resolve(image, platform);
    } catch (err) {
      if (!isBerthError(err, 'not_found') || /^sha256:/.test(image)) throw err;
    }
    await this.pull(image, platform);
    return this.resolve(image, platform);
  }

  async resolve(image: string, platform: string): Promise<BaseImage> {
    const resolved = await unaryCall<imagestore.ResolveResponse>(this.endpoint, (m, o, cb) => this.client.resolve({ image, platform }, m, o, cb));
    const config = JSON.parse(Buffer.from(resolved.rawConfig).toString('utf8')) as ImageConfigJson;
    config.config ??= {};
    config.history ??= [];
    config.rootfs ??= { type: 'layers', diff_ids: [] };
    return {
      id: resolved.id,
      config,
      layers: resolved.layers.map((layer, index) => ({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size, diffId: resolved.diffIds[index]! })),
    };
  }

  private async pull(reference: string, platform: string): Promise<void> {
    const stream = this.client.pull({ reference, platform, auth: undefined });
    try {
      for await (const _ of stream) {
        // Progress is the pull's own business here.
      }
    } catch (err) {
      throw fromServiceError(err as ServiceError, this.endpoint);
    }
  }

  /** Uploads a layer file; the image-store verifies its digest and size. */
  async writeBlob(path: string, digest: string, size: number, mediaType: string): Promise<void> {
    await writeBlobFromFile(this.client, this.endpoint, path, { digest, size, mediaType });
  }

  /**
   * Records a build state as an image. As build cache it is held for the cache (not dangling, not
   * listed); the result of a build gets its tags and the build event instead.
   */
  async putImage(state: BuildState, options: { tags: string[]; buildCache: boolean }): Promise<string> {
    const config = configBytes(state.config);
    const response = await unaryCall<imagestore.PutImageResponse>(this.endpoint, (m, o, cb) =>
      this.client.putImage(
        {
          config,
          layers: state.layers.map((layer) => ({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size, platform: undefined, annotations: {} })),
          tags: options.tags,
          eventAction: 'build',
          buildCache: options.buildCache,
        },
        m,
        o,
        cb,
      ),
    );
    return response.image!.id;
  }

  /** Whether the image-store still has an image. */
  exists(imageId: string): Promise<boolean> {
    return imageExists(this.client, this.endpoint, imageId);
  }

  /** Deletes an image by id (a RUN step's commit, once its layer is held by the build). */
  async remove(imageId: string): Promise<void> {
    await unaryCall(this.endpoint, (m, o, cb) => this.client.remove({ image: imageId, force: true, noPrune: false }, m, o, cb));
  }

  async releaseBuildCache(imageIds: string[]): Promise<imagestore.ReleaseBuildCacheResponse> {
    return unaryCall(this.endpoint, (m, o, cb) => this.client.releaseBuildCache({ imageIds }, m, o, cb));
  }
}

/**
 * An image config's bytes, every object's keys in sorted order: a state read back from the build
 * cache (Postgres's jsonb keeps keys in an order of its own) gives the same bytes as when it was
 * built, and so the same image id.
 */
function configBytes(config: ImageConfigJson): Buffer {
  return Buffer.from(
    JSON.stringify(config, (_key, value: unknown) =>
      value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : value,
    ),
  );
}
