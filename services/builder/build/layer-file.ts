import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { packEntries, type TarEntry } from '../../../libs/archive';
import type { LayerRef } from './state';

/** Layers the builder makes are plain tars: cheap to make, and their digest is their diff id. */
export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar';

/** Writes the entries as a tar file and measures it: the same entries always give the same digest. */
export async function writeLayerFile(entries: AsyncIterable<TarEntry>, path: string): Promise<LayerRef> {
  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(packEntries(entries), measure, createWriteStream(path));
  const digest = `sha256:${hash.digest('hex')}`;
  return { mediaType: LAYER_MEDIA_TYPE, digest, size, diffId: digest };
}
