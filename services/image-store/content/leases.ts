/**
 * Blobs that garbage collection must keep although nothing refers to them yet: the layers of a pull
 * that has not committed, a builder's uploads before PutImage. A lease ends when its holder releases
 * it or when it expires (a holder that died).
 */
export class Leases {
  private readonly leases = new Map<string, { digests: Set<string>; expiresAt: number }>();
  private next = 0;

  /** Takes a lease; add blobs to it as they are written. */
  acquire(ttlMs: number): { id: string; add(digest: string): void; release(): void } {
    const id = `lease-${++this.next}`;
    const lease = { digests: new Set<string>(), expiresAt: Date.now() + ttlMs };
    this.leases.set(id, lease);
    return {
      id,
      add: (digest) => void lease.digests.add(digest),
      release: () => void this.leases.delete(id),
    };
  }

  /** Every blob under a live lease. */
  held(): Set<string> {
    const now = Date.now();
    const held = new Set<string>();
    for (const [id, lease] of this.leases) {
      if (lease.expiresAt < now) this.leases.delete(id);
      else for (const digest of lease.digests) held.add(digest);
    }
    return held;
  }
}
