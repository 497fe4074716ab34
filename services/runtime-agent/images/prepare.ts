import { Readable } from 'node:stream';
import type { ServiceError } from '@grpc/grpc-js';
import { fromServiceError, unaryCall } from '../../../libs/grpc';
import type { imagestore } from '../../../libs/proto';
import type { LayerStore } from '../layers';

/** An image made ready to run on this host: its config and its unpacked layers, lowest first. */
export interface PreparedImage {
  id: string;
  /** The normalised name it was asked for, when it was named by one. */
  reference: string;
  config: imagestore.ImageConfig;
  rawConfig: Buffer;
  /** The uncompressed layers' digests, lowest first: they name the layers' chain ids. */
  diffIds: string[];
  layerDirs: string[];
}

/**
 * Resolves an image through the image-store and unpacks the layers this host lacks, each fetched
 * with ReadBlob and verified (blob digest and diff id) while it streams into the layer store.
 */
export async function prepareImage(
  client: imagestore.ImageStoreServiceClient,
  endpoint: string,
  layers: LayerStore,
  image: string,
  platform = '',
): Promise<PreparedImage> {
  const resolved = await unaryCall<imagestore.ResolveResponse>(endpoint, (m, o, cb) => client.resolve({ image, platform }, m, o, cb));
  const open = async (digest: string) => readBlob(client, endpoint, digest);
  const layerDirs = await layers.ensure(
    resolved.layers.map((layer, index) => ({ digest: layer.digest, mediaType: layer.mediaType, diffId: resolved.diffIds[index]! })),
    open,
  );
  return { id: resolved.id, reference: resolved.reference, config: resolved.config!, rawConfig: Buffer.from(resolved.rawConfig), diffIds: resolved.diffIds, layerDirs };
}

/** A blob from the image-store as a byte stream; a failed call fails the stream with a BerthError. */
function readBlob(client: imagestore.ImageStoreServiceClient, endpoint: string, digest: string): Readable {
  // No deadline: a large layer takes as long as it takes; the caller's cancellation ends it.
  const call = client.readBlob({ digest, offset: 0, length: 0 }, { deadline: Infinity });
  return Readable.from(
    (async function* () {
      try {
        for await (const message of call) yield Buffer.from((message as imagestore.ReadBlobResponse).data);
      } catch (err) {
        throw fromServiceError(err as ServiceError, endpoint);
      }
    })(),
  );
}
