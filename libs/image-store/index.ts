/** What services that call the image-store share: uploading a file as a blob, asking whether an image exists. */
import { createReadStream } from 'node:fs';
import type { ServiceError } from '@grpc/grpc-js';
import { isBerthError } from '../errors';
import { fromServiceError, unaryCall } from '../grpc';
import type { imagestore } from '../proto';

const UPLOAD_CHUNK_BYTES = 1024 * 1024;

/** Uploads a file as a blob (WriteBlob); the image-store verifies its digest and size. */
export function writeBlobFromFile(
  client: imagestore.ImageStoreServiceClient,
  endpoint: string,
  path: string,
  blob: { digest: string; size: number; mediaType: string },
): Promise<imagestore.WriteBlobResponse> {
  return new Promise((resolve, reject) => {
    const call = client.writeBlob({ deadline: Infinity }, (err, response) => (err ? reject(fromServiceError(err as ServiceError, endpoint)) : resolve(response)));
    call.write({ expectedDigest: blob.digest, expectedSize: blob.size, mediaType: blob.mediaType, data: Buffer.alloc(0) });
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

/** Whether the image-store has an image (by id or reference). */
export async function imageExists(client: imagestore.ImageStoreServiceClient, endpoint: string, image: string): Promise<boolean> {
  try {
    await unaryCall(endpoint, (m, o, cb) => client.inspect({ image }, m, o, cb));
    return true;
  } catch (err) {
    if (isBerthError(err, 'not_found')) return false;
    throw err;
  }
}
