import type { ImageContext } from './context';

/**
 * One collection at a time, and never while an image is being recorded: recording checks that its
 * blobs exist and then refers to them, which must not interleave with a collection deleting them.
 */
export class GcLock {
  private tail: Promise<unknown> = Promise.resolve();
  private readers = 0;
  private drained: (() => void) | undefined;

  /** Runs fn while no collection runs (many at once). */
  async shared<T>(fn: () => Promise<T>): Promise<T> {
    await this.tail;
    this.readers++;
    try {
      return await fn();
    } finally {
      this.readers--;
      if (this.readers === 0) this.drained?.();
    }
  }

  /** Runs fn alone: after the running records finish, before any new one starts. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    if (this.readers > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.drained = undefined;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/**
 * Deletes the blobs that no manifest refers to and no lease holds (a pull or upload in flight), and
 * the manifests nothing refers to. Returns the blobs removed and the bytes freed.
 */
export async function collectGarbage(context: ImageContext & { gcLock: GcLock }): Promise<{ removed: string[]; bytes: number }> {
  return context.gcLock.exclusive(async () => {
    await context.db.transaction((client) => context.repository.deleteUnreferencedManifests(client));
    const keep = await context.repository.referencedBlobs();
    for (const digest of context.leases.held()) keep.add(digest);
    const removed: string[] = [];
    let bytes = 0;
    for (const digest of await context.content.list()) {
      if (keep.has(digest)) continue;
      bytes += (await context.content.size(digest)) ?? 0;
      await context.content.delete(digest);
      removed.push(digest);
    }
    if (removed.length > 0) context.logger.info({ blobs: removed.length, bytes }, `garbage collection removed ${removed.length} blobs`);
    return { removed, bytes };
  });
}
