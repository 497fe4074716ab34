import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { fromServiceError } from '../../../libs/grpc';
import type { imagestore } from '../../../libs/proto';

/** Sends a blob in chunks over WriteBlob: first the expected digest and size, then the data. */
export function writeBlob(
  c: imagestore.ImageStoreServiceClient,
  expected: { digest: string; size: number },
  data: Buffer,
  chunk = 64 * 1024,
): Promise<imagestore.WriteBlobResponse> {
  return new Promise((resolve, reject) => {
    const call = c.writeBlob(new Metadata(), (err, response) => (err ? reject(fromServiceError(err as ServiceError)) : resolve(response!)));
    call.write({ expectedDigest: expected.digest, expectedSize: expected.size, data: data.subarray(0, chunk), mediaType: '' });
    for (let start = chunk; start < data.length; start += chunk) {
      call.write({ expectedDigest: '', expectedSize: 0, data: data.subarray(start, start + chunk), mediaType: '' });
    }
    call.end();
  });
}
