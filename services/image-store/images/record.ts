import type { NewEvent } from '../../../libs/events';
import type { ImageRow } from '../store/repository';
import type { ImageContext } from './context';
import { formatPlatform, type ImageConfig, type Index, type Manifest } from './manifest';
import { parseReference } from '../../../libs/reference';

export interface ImageToRecord {
  /** The single-platform manifest the image is stored with (already in the content store). */
  manifest: { digest: string; bytes: Buffer; mediaType: string; parsed: Manifest };
  /** The index it was picked from, for a multi-platform pull. */
  index?: { digest: string; bytes: Buffer; mediaType: string; parsed: { kind: 'index'; index: Index } | { kind: 'manifest' } };
  config: ImageConfig;
  configDigest: string;
  /** The normalised names to point at it ("docker.io/library/busybox:latest"). */
  tags: string[];
  /** The repository that knows it by digest (a pull's or a push's), for RepoDigests. */
  repository?: string;
  parentId?: string;
  /** Hold it as build cache (see ImageRow.buildCache); false leaves an existing hold as it is. */
  buildCache?: boolean;
  /** The image's event; none for a build's cached step, which is not an image anyone made. */
  event: Omit<NewEvent, 'type'> | undefined;
}

/**
 * Records an image whose blobs are in the content store: its manifests, the image, its tag and repo
 * digest, and its event, in one transaction, so that the image exists if and only if its event does.
 */
export async function recordImage(context: ImageContext, image: ImageToRecord): Promise<ImageRow> {
  const { manifest, index, config } = image;
  return context.db.transaction(async (client) => {
    if (index !== undefined && index.parsed.kind === 'index') {
      await context.repository.recordManifest(client, {
        digest: index.digest,
        mediaType: index.mediaType,
        size: index.bytes.length,
        children: index.parsed.index.manifests.map((m) => ({
          kind: 'manifest' as const,
          digest: m.digest,
          mediaType: m.mediaType,
          size: m.size,
          platform: m.platform === undefined ? undefined : formatPlatform(m.platform),
        })),
      });
    }
    await context.repository.recordManifest(client, {
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      size: manifest.bytes.length,
      configDigest: image.configDigest,
      children: [
        { kind: 'config', digest: manifest.parsed.config.digest, mediaType: manifest.parsed.config.mediaType, size: manifest.parsed.config.size },
        ...manifest.parsed.layers.map((l) => ({ kind: 'layer' as const, digest: l.digest, mediaType: l.mediaType, size: l.size })),
      ],
    });
    await context.repository.recordImage(client, {
      id: image.configDigest,
      manifestDigest: manifest.digest,
      created: config.created === undefined ? null : new Date(config.created),
      size: manifest.parsed.layers.reduce((sum, l) => sum + l.size, 0),
      os: config.os,
      architecture: config.architecture,
      variant: config.variant ?? '',
      labels: config.config?.Labels ?? {},
      parentId: image.parentId ?? null,
    });
    // In the same transaction as the image: a prune never sees it recorded but not yet held.
    if (image.buildCache === true) await context.repository.markBuildCache(client, image.configDigest);
    const events: NewEvent[] = image.event === undefined ? [] : [{ type: 'image', ...image.event }];
    for (const tag of image.tags) {
      const reference = parseReference(tag);
      const replaced = await context.repository.setTag(client, {
        name: tag,
        repository: `${reference.domain}/${reference.path}`,
        tag: reference.tag!,
        imageId: image.configDigest,
        targetDigest: index?.digest ?? manifest.digest,
      });
      if (replaced !== undefined) events.push({ type: 'image', action: 'untag', actorId: replaced, attributes: { name: tag } });
    }
    if (image.repository !== undefined) {
      await context.repository.addRepoDigest(client, image.repository, index?.digest ?? manifest.digest, image.configDigest);
    }
    for (const event of events) await context.events.append(client, event);
    return (await context.repository.getImage(image.configDigest, client))!;
  });
}
