import { createReadStream } from 'node:fs';
import type { ServiceError } from '@grpc/grpc-js';
import { isBerthError } from '../../../libs/errors';
import { fromServiceError, unaryCall } from '../../../libs/grpc';
import type { imagestore } from '../../../libs/proto';
import type { BuildState, ImageConfigJson, LayerRef } from '../build/state';

const UPLOAD_CHUNK_BYTES = 1024 * 1024;

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
  writeBlob(path: string, digest: string, size: number, mediaType: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const call = this.client.writeBlob({ deadline: Infinity }, (err) => (err ? reject(fromServiceError(err as ServiceError, this.endpoint)) : resolve()));
      call.write({ expectedDigest: digest, expectedSize: size, mediaType, data: Buffer.alloc(0) });
      const file = createReadStream(path, { highWaterMark: UPLOAD_CHUNK_BYTES });
      file.on('data', (chunk) => {
        if (!call.write({ expectedDigest: '', expectedSize: 0, mediaType: '', data: chunk as Buffer })) file.pause();
      });
      call.on('drain', () => file.resume());
      file.once('end', () => call.end());
      file.once('error', (err) => {
        call.cancel();
        reject(err);
      });
    });
  }

  /**
   * Records a build state as an image. As build cache it is held for the cache (not dangling, not
   * listed); the result of a build gets its tags and the build event instead.
   */
  async putImage(state: BuildState, options: { tags: string[]; buildCache: boolean }): Promise<string> {
    const config = Buffer.from(JSON.stringify(state.config));
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
  async exists(imageId: string): Promise<boolean> {
    try {
      await unaryCall(this.endpoint, (m, o, cb) => this.client.inspect({ image: imageId }, m, o, cb));
      return true;
    } catch (err) {
      if (isBerthError(err, 'not_found')) return false;
      throw err;
    }
  }

  /** Deletes an image by id (a RUN step's commit, once its layer is held by the build). */
  async remove(imageId: string): Promise<void> {
    await unaryCall(this.endpoint, (m, o, cb) => this.client.remove({ image: imageId, force: true, noPrune: false }, m, o, cb));
  }

  async releaseBuildCache(imageIds: string[]): Promise<imagestore.ReleaseBuildCacheResponse> {
    return unaryCall(this.endpoint, (m, o, cb) => this.client.releaseBuildCache({ imageIds }, m, o, cb));
  }
}
