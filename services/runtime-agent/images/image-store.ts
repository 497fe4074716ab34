import { createReadStream } from 'node:fs';
import type { ServiceError } from '@grpc/grpc-js';
import { isBerthError } from '../../../libs/errors';
import { fromServiceError, unaryCall } from '../../../libs/grpc';
import type { imagestore } from '../../../libs/proto';
import type { LayerStore } from '../layers';
import { prepareImage, type PreparedImage } from './prepare';

const UPLOAD_CHUNK_BYTES = 1024 * 1024;

/** The image-store as the runtime-agent uses it: images to run, and images that commit makes. */
export class ImageStore {
  constructor(
    private readonly client: imagestore.ImageStoreServiceClient,
    private readonly endpoint: string,
    private readonly layers: LayerStore,
  ) {}

  /** Resolves an image and unpacks the layers this host lacks. */
  prepare(image: string, platform: string): Promise<PreparedImage> {
    return prepareImage(this.client, this.endpoint, this.layers, image, platform);
  }

  resolve(image: string): Promise<imagestore.ResolveResponse> {
    return unaryCall(this.endpoint, (m, o, cb) => this.client.resolve({ image, platform: '' }, m, o, cb));
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

  /** Uploads a file as a blob; the image-store verifies its digest and size. */
  writeBlob(path: string, digest: string, size: number, mediaType: string): Promise<imagestore.WriteBlobResponse> {
    return new Promise((resolve, reject) => {
      const call = this.client.writeBlob({ deadline: Infinity }, (err, response) => (err ? reject(fromServiceError(err as ServiceError, this.endpoint)) : resolve(response)));
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

  putImage(request: imagestore.PutImageRequest): Promise<imagestore.PutImageResponse> {
    return unaryCall(this.endpoint, (m, o, cb) => this.client.putImage(request, m, o, cb));
  }
}
