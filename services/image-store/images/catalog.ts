import { invalidArgument, notFound } from '../../../libs/errors';
import type { ImageRow } from '../store/repository';
import type { ImageContext } from './context';
import { parseImageConfig, parseManifest, type ImageConfig, type Manifest } from './manifest';
import { formatReference, looksLikeImageId, parseReference, repositoryName } from '../../../libs/reference';

/** An image found by what a person named it, with the name as normalised. */
export interface ResolvedImage {
  image: ImageRow;
  /** The normalised reference, when the image was named by one rather than by id. */
  reference?: string;
}

/**
 * Finds an image by full id, unique id prefix, or reference ("busybox", "app:1", "repo@sha256:..."),
 * as Docker does: an id prefix wins when it matches, else the text is read as a name.
 */
export async function resolveImage(context: ImageContext, text: string): Promise<ResolvedImage> {
  if (text === '') throw invalidArgument('no image given');
  if (looksLikeImageId(text)) {
    const ids = await context.repository.findIdsByPrefix(text);
    if (ids.length > 1) throw invalidArgument(`image id prefix "${text}" is ambiguous: give more digits`);
    if (ids.length === 1) return { image: (await context.repository.getImage(ids[0]!))! };
    if (text.startsWith('sha256:')) throw notFound(`no such image: ${text}`);
  }
  const reference = parseReference(text);
  const name = formatReference(reference);
  const imageId = reference.digest !== undefined
    ? await context.repository.findByRepoDigest(repositoryName(reference), reference.digest)
    : (await context.repository.findTag(name))?.imageId;
  const image = imageId === undefined ? undefined : await context.repository.getImage(imageId);
  if (image === undefined) throw notFound(`no such image: ${text}`);
  return { image, reference: name };
}

/** The image's manifest and config, read from the content store. */
export async function loadImage(context: ImageContext, image: ImageRow): Promise<{ manifest: Manifest; manifestBytes: Buffer; config: ImageConfig; configBytes: Buffer; manifestMediaType: string }> {
  const manifestBytes = await context.content.readBytes(image.manifestDigest);
  const parsed = parseManifest(manifestBytes);
  if (parsed.kind !== 'manifest') throw new Error(`image ${image.id} is stored with an index, not a manifest`);
  const configBytes = await context.content.readBytes(image.id);
  return { manifest: parsed.manifest, manifestBytes, config: parseImageConfig(configBytes), configBytes, manifestMediaType: parsed.mediaType };
}
