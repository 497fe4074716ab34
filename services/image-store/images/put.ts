import { invalidArgument } from '../../../libs/errors';
import type { ImageRow } from '../store/repository';
import type { ImageContext } from './context';
import type { GcLock } from './gc';
import { MEDIA_TYPES, parseImageConfig, type Descriptor, type Manifest } from './manifest';
import { recordImage } from './record';
import { formatReference, parseReference } from '../../../libs/reference';

export interface PutImageRequest {
  config: Buffer;
  layers: Descriptor[];
  tags: string[];
  /** "build", "commit" or "import". */
  eventAction: string;
  /** Hold the image as build cache; false never clears an earlier hold. */
  buildCache?: boolean;
}

/**
 * Records an image made of layers already in the store (a build, a commit): writes its config and an
 * OCI manifest, and tags it. Runs under the GC lock's shared side: the layers it checks exist cannot
 * be collected before the image refers to them.
 */
export async function putImage(context: ImageContext & { gcLock: GcLock }, request: PutImageRequest): Promise<{ image: ImageRow; manifest: Descriptor }> {
  const config = parseImageConfig(request.config);
  if (config.rootfs.diff_ids.length !== request.layers.length) {
    throw invalidArgument(`the config lists ${config.rootfs.diff_ids.length} layers (rootfs.diff_ids) but ${request.layers.length} were given`);
  }
  const tags = request.tags.map((tag) => {
    const reference = parseReference(tag);
    if (reference.digest !== undefined) throw invalidArgument(`cannot tag with a digest: "${tag}"`);
    return formatReference(reference);
  });
  return context.gcLock.shared(async () => {
    for (const layer of request.layers) {
      const size = await context.content.size(layer.digest);
      if (size === undefined) throw invalidArgument(`layer ${layer.digest} is not in the store: write it first (WriteBlob)`);
      if (size !== layer.size) throw invalidArgument(`layer ${layer.digest} has ${size} bytes, not ${layer.size}`);
    }
    const configWritten = await context.content.writeBytes(request.config);
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: MEDIA_TYPES.ociConfig, digest: configWritten.digest, size: configWritten.size },
      layers: request.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size, ...(l.annotations ? { annotations: l.annotations } : {}) })),
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestWritten = await context.content.writeBytes(manifestBytes);
    const image = await recordImage(context, {
      manifest: { digest: manifestWritten.digest, bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest, parsed: manifest },
      config,
      configDigest: configWritten.digest,
      tags,
      buildCache: request.buildCache,
      event: request.buildCache ? undefined : { action: request.eventAction || 'build', actorId: configWritten.digest, attributes: tags.length > 0 ? { name: tags.join(',') } : {} },
    });
    return { image, manifest: { mediaType: MEDIA_TYPES.ociManifest, digest: manifestWritten.digest, size: manifestBytes.length } };
  });
}
