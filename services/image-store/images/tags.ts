import { failedPrecondition, invalidArgument } from '../../../libs/errors';
import { resolveImage } from './catalog';
import type { ImageContext } from './context';
import { familiarName, formatReference, parseReference } from '../../../libs/reference';

/** Gives an image another name; the name moves if it named another image. */
export async function tagImage(context: ImageContext, source: string, target: string): Promise<string> {
  const { image } = await resolveImage(context, source);
  const reference = parseReference(target);
  if (reference.digest !== undefined) throw invalidArgument(`cannot tag with a digest: "${target}"`);
  const name = formatReference(reference);
  await context.db.transaction(async (client) => {
    const replaced = await context.repository.setTag(client, {
      name,
      repository: `${reference.domain}/${reference.path}`,
      tag: reference.tag!,
      imageId: image.id,
      targetDigest: image.manifestDigest,
    });
    if (replaced !== undefined) await context.events.append(client, { type: 'image', action: 'untag', actorId: replaced, attributes: { name } });
    await context.events.append(client, { type: 'image', action: 'tag', actorId: image.id, attributes: { name } });
  });
  return name;
}

export interface RemoveOptions {
  force: boolean;
  noPrune: boolean;
}

/**
 * `docker rmi`: a name is untagged, and the image deleted once nothing names it; an id deletes the
 * image with all its names (only with force when several names point at it). An image a container
 * uses is kept unless forced; one that other images are built on is always kept.
 */
export async function removeImage(context: ImageContext, text: string, options: RemoveOptions): Promise<{ untagged: string[]; deleted: string[] }> {
  const { image, reference } = await resolveImage(context, text);
  const byName = reference !== undefined && image.tags.includes(reference);
  const untag = byName ? [reference] : image.tags;
  const deleting = !byName || image.tags.length === 1;
  if (!byName && image.tags.length > 1 && !options.force) {
    throw failedPrecondition(
      `image ${image.id.slice(7, 19)} is referenced by several names (${image.tags.map(familiarName).join(', ')}): remove them by name, or force`,
    );
  }
  if (deleting && !options.force) {
    const using = await context.containersUsing(image.id);
    if (using > 0) throw failedPrecondition(`image ${image.id.slice(7, 19)} is in use by ${using} container${using === 1 ? '' : 's'}: remove them first, or force`);
  }
  if (deleting && (await context.repository.childrenOf(image.id)).length > 0) {
    throw failedPrecondition(`image ${image.id.slice(7, 19)} has dependent child images: remove them first`);
  }

  const deleted: string[] = [];
  await context.db.transaction(async (client) => {
    for (const name of untag) {
      await context.repository.removeTag(client, name);
      await context.events.append(client, { type: 'image', action: 'untag', actorId: image.id, attributes: { name } });
    }
    if (!deleting) return;
    let id: string | null = image.id;
    while (id !== null) {
      const current: string = id;
      const row = await context.repository.getImage(current, client);
      await context.repository.deleteImage(client, current);
      await context.events.append(client, { type: 'image', action: 'delete', actorId: current, attributes: {} });
      deleted.push(current);
      // A parent left without names or other children goes too, as Docker prunes intermediate images,
      // unless the builder holds it as cache.
      id = null;
      if (!options.noPrune && row?.parentId) {
        const parent = await context.repository.getImage(row.parentId, client);
        if (parent !== undefined && parent.tags.length === 0 && !parent.buildCache && (await context.repository.childrenOf(parent.id, client)).length === 0) id = parent.id;
      }
    }
  });
  return { untagged: untag.map(familiarName), deleted };
}
