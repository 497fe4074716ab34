import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../../../libs/errors';
import { removeShortName } from '../rootfs';
import type { RuntimeContext } from './context';

/** Collections are batched: many removals in a row make one pass. */
const COLLECT_DELAY_MS = 2_000;
let pending: NodeJS.Timeout | undefined;
/** Images being prepared: their fresh layers are not recorded yet, so collection waits. */
let preparing = 0;
/** The collection under way: a preparation that began during it could find a layer it then removes. */
let collecting: Promise<unknown> | undefined;

/** Runs fn (which unpacks layers and records them) while no collection runs. */
export async function withLayersPinned<T>(fn: () => Promise<T>): Promise<T> {
  while (collecting !== undefined) await collecting.catch(() => undefined);
  preparing++;
  try {
    return await fn();
  } finally {
    preparing--;
  }
}

/** Soon removes the layers that neither a container nor a prepared image of this node needs. */
export function scheduleLayerCollection(context: RuntimeContext): void {
  if (pending !== undefined) return;
  pending = setTimeout(() => {
    pending = undefined;
    collectLayers(context).catch((err: unknown) => context.logger.warn(`layer collection: ${messageOf(err)}`));
  }, COLLECT_DELAY_MS);
  pending.unref();
}

/**
 * Removes unpacked layers that nothing on this node refers to: no container, and no image that the
 * image-store still has. A layer being unpacked is still in its temporary directory.
 */
export async function collectLayers(context: RuntimeContext): Promise<string[]> {
  if (preparing > 0 || collecting !== undefined) {
    scheduleLayerCollection(context);
    return [];
  }
  const collection = removeUnusedLayers(context);
  collecting = collection;
  try {
    return await collection;
  } finally {
    collecting = undefined;
  }
}

async function removeUnusedLayers(context: RuntimeContext): Promise<string[]> {
  // Images deleted from the image-store no longer keep their layers here.
  const stored = await context.images.imageIds();
  for (const imageId of await context.repository.imagesOf(context.node)) {
    if (!stored.has(imageId)) await context.repository.forgetImage(context.node, imageId);
  }
  const inUse = new Set([...(await context.repository.layersInUse(context.node))].map((chainId) => chainId.replace(/^sha256:/, '')));
  const removed: string[] = [];
  for (const name of await readdir(context.layers.root)) {
    if (name.startsWith('.') || inUse.has(name)) continue;
    await removeShortName(join(context.layers.root, name));
    await rm(join(context.layers.root, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
