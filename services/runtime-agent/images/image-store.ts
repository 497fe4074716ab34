import { unaryCall } from '../../../libs/grpc';
import { writeBlobFromFile } from '../../../libs/image-store';
import type { imagestore } from '../../../libs/proto';
import type { LayerStore } from '../layers';
import { prepareImage, type PreparedImage } from './prepare';

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

  /** The ids of every image the image-store has (build cache included), in one call. */
  async imageIds(): Promise<Set<string>> {
    const response = await unaryCall<imagestore.ListResponse>(this.endpoint, (m, o, cb) => this.client.list({ filters: {}, all: true }, m, o, cb));
    return new Set(response.images.map((image) => image.id));
  }

  /** Uploads a file as a blob; the image-store verifies its digest and size. */
  writeBlob(path: string, digest: string, size: number, mediaType: string): Promise<imagestore.WriteBlobResponse> {
    return writeBlobFromFile(this.client, this.endpoint, path, { digest, size, mediaType });
  }

  putImage(request: imagestore.PutImageRequest): Promise<imagestore.PutImageResponse> {
    return unaryCall(this.endpoint, (m, o, cb) => this.client.putImage(request, m, o, cb));
  }
}
