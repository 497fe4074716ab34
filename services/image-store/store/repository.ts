import type { Database, PoolClient } from '../../../libs/db';

/** The queries need either the pool or a transaction's client. */
type Queryable = Pick<PoolClient, 'query'>;

export interface ManifestRecord {
  digest: string;
  mediaType: string;
  size: number;
  configDigest?: string;
  children: Array<{ kind: 'config' | 'layer' | 'manifest'; digest: string; mediaType: string; size: number; platform?: string }>;
}

export interface ImageRow {
  id: string;
  manifestDigest: string;
  created: Date | null;
  size: number;
  os: string;
  architecture: string;
  variant: string;
  labels: Record<string, string>;
  parentId: string | null;
  /** Held by the builder as build cache: prune keeps it, List hides it while it has no name. */
  buildCache: boolean;
  tags: string[];
  repoDigests: string[];
}

const IMAGE_COLUMNS = `
  i.id, i.manifest_digest, i.created, i.size, i.os, i.architecture, i.variant, i.labels, i.parent_id, i.build_cache,
  coalesce((SELECT array_agg(t.name ORDER BY t.name) FROM tags t WHERE t.image_id = i.id), '{}') AS tags,
  coalesce((SELECT array_agg(r.repository || '@' || r.digest ORDER BY r.repository, r.digest) FROM repo_digests r WHERE r.image_id = i.id), '{}') AS repo_digests`;

interface ImageQueryRow {
  id: string;
  manifest_digest: string;
  created: Date | null;
  size: string;
  os: string;
  architecture: string;
  variant: string;
  labels: Record<string, string>;
  parent_id: string | null;
  build_cache: boolean;
  tags: string[];
  repo_digests: string[];
}

function toImage(row: ImageQueryRow): ImageRow {
  return {
    id: row.id,
    manifestDigest: row.manifest_digest,
    created: row.created,
    size: Number(row.size),
    os: row.os,
    architecture: row.architecture,
    variant: row.variant,
    labels: row.labels,
    parentId: row.parent_id,
    buildCache: row.build_cache,
    tags: row.tags,
    repoDigests: row.repo_digests,
  };
}

/** SQL for the `images` schema: manifests and what they refer to, images, tags, repo digests. */
export class ImageRepository {
  constructor(private readonly db: Database) {}

  async recordManifest(client: Queryable, manifest: ManifestRecord): Promise<void> {
    const inserted = await client.query(
      `INSERT INTO manifests (digest, media_type, size, config_digest) VALUES ($1, $2, $3, $4) ON CONFLICT (digest) DO NOTHING`,
      [manifest.digest, manifest.mediaType, manifest.size, manifest.configDigest ?? null],
    );
    if (inserted.rowCount === 0) return;
    for (const [position, child] of manifest.children.entries()) {
      await client.query(
        `INSERT INTO manifest_children (manifest_digest, position, kind, digest, media_type, size, platform) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [manifest.digest, position, child.kind, child.digest, child.mediaType, child.size, child.platform ?? null],
      );
    }
  }

  async recordImage(
    client: Queryable,
    image: Omit<ImageRow, 'tags' | 'repoDigests' | 'buildCache'>,
  ): Promise<boolean> {
    const inserted = await client.query(
      `INSERT INTO images (id, manifest_digest, created, size, os, architecture, variant, labels, parent_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
      [image.id, image.manifestDigest, image.created, image.size, image.os, image.architecture, image.variant, image.labels, image.parentId],
    );
    return inserted.rowCount === 1;
  }

  /** Holds an image as build cache (whether it was just recorded or existed before). */
  async markBuildCache(client: Queryable, id: string): Promise<void> {
    await client.query('UPDATE images SET build_cache = true WHERE id = $1', [id]);
  }

  /** Drops the build-cache hold on those of the images that had it; returns their ids. */
  async releaseBuildCache(client: Queryable, ids: string[]): Promise<string[]> {
    const result = await client.query<{ id: string }>('UPDATE images SET build_cache = false WHERE id = ANY($1) AND build_cache RETURNING id', [ids]);
    return result.rows.map((r) => r.id);
  }

  /** Points a name at an image; returns the image it pointed at before, if another. */
  async setTag(
    client: Queryable,
    tag: { name: string; repository: string; tag: string; imageId: string; targetDigest: string },
  ): Promise<string | undefined> {
    const previous = await client.query<{ image_id: string }>('SELECT image_id FROM tags WHERE name = $1 FOR UPDATE', [tag.name]);
    await client.query(
      `INSERT INTO tags (name, repository, tag, image_id, target_digest) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE SET image_id = excluded.image_id, target_digest = excluded.target_digest, updated_at = now()`,
      [tag.name, tag.repository, tag.tag, tag.imageId, tag.targetDigest],
    );
    const before = previous.rows[0]?.image_id;
    return before !== undefined && before !== tag.imageId ? before : undefined;
  }

  async addRepoDigest(client: Queryable, repository: string, digest: string, imageId: string): Promise<void> {
    await client.query(
      `INSERT INTO repo_digests (repository, digest, image_id) VALUES ($1, $2, $3)
       ON CONFLICT (repository, digest) DO UPDATE SET image_id = excluded.image_id`,
      [repository, digest, imageId],
    );
  }

  async removeTag(client: Queryable, name: string): Promise<void> {
    await client.query('DELETE FROM tags WHERE name = $1', [name]);
  }

  /** Deletes an image row and its repo digests (its tags must be gone). */
  async deleteImage(client: Queryable, id: string): Promise<void> {
    await client.query('DELETE FROM images WHERE id = $1', [id]);
  }

  /** Deletes manifests that no image, tag, repo digest or other manifest refers to any more. */
  async deleteUnreferencedManifests(client: Queryable): Promise<string[]> {
    const deleted: string[] = [];
    for (;;) {
      const result = await client.query<{ digest: string }>(
        `DELETE FROM manifests m
         WHERE NOT EXISTS (SELECT 1 FROM images i WHERE i.manifest_digest = m.digest)
           AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.target_digest = m.digest)
           AND NOT EXISTS (SELECT 1 FROM repo_digests r WHERE r.digest = m.digest)
           AND NOT EXISTS (SELECT 1 FROM manifest_children c WHERE c.kind = 'manifest' AND c.digest = m.digest)
         RETURNING m.digest`,
      );
      if (result.rows.length === 0) return deleted;
      deleted.push(...result.rows.map((r) => r.digest));
    }
  }

  async findTag(name: string): Promise<{ imageId: string; targetDigest: string } | undefined> {
    const result = await this.db.pool.query<{ image_id: string; target_digest: string }>(
      'SELECT image_id, target_digest FROM tags WHERE name = $1',
      [name],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : { imageId: row.image_id, targetDigest: row.target_digest };
  }

  /** The image a repository knows by a manifest or index digest. */
  async findByRepoDigest(repository: string, digest: string): Promise<string | undefined> {
    const result = await this.db.pool.query<{ image_id: string }>(
      `SELECT image_id FROM repo_digests WHERE repository = $1 AND digest = $2
       UNION SELECT image_id FROM tags WHERE repository = $1 AND target_digest = $2
       UNION SELECT id FROM images WHERE manifest_digest = $2
       LIMIT 1`,
      [repository, digest],
    );
    return result.rows[0]?.image_id;
  }

  /** Images whose id starts with the given hex (or is it). */
  async findIdsByPrefix(prefix: string): Promise<string[]> {
    const hex = prefix.replace(/^sha256:/, '');
    const result = await this.db.pool.query<{ id: string }>("SELECT id FROM images WHERE id LIKE $1 ORDER BY id LIMIT 2", [`sha256:${hex}%`]);
    return result.rows.map((r) => r.id);
  }

  async getImage(id: string, client: Queryable = this.db.pool): Promise<ImageRow | undefined> {
    const result = await client.query<ImageQueryRow>(`SELECT ${IMAGE_COLUMNS} FROM images i WHERE i.id = $1`, [id]);
    return result.rows[0] === undefined ? undefined : toImage(result.rows[0]);
  }

  async listImages(): Promise<ImageRow[]> {
    const result = await this.db.pool.query<ImageQueryRow>(`SELECT ${IMAGE_COLUMNS} FROM images i ORDER BY i.created DESC NULLS LAST, i.id`);
    return result.rows.map(toImage);
  }

  /** Images built on this one. */
  async childrenOf(id: string, client: Queryable = this.db.pool): Promise<string[]> {
    const result = await client.query<{ id: string }>('SELECT id FROM images WHERE parent_id = $1', [id]);
    return result.rows.map((r) => r.id);
  }

  async manifestChildren(digest: string): Promise<ManifestRecord['children']> {
    const result = await this.db.pool.query<{ kind: 'config' | 'layer' | 'manifest'; digest: string; media_type: string; size: string; platform: string | null }>(
      'SELECT kind, digest, media_type, size, platform FROM manifest_children WHERE manifest_digest = $1 ORDER BY position',
      [digest],
    );
    return result.rows.map((r) => ({ kind: r.kind, digest: r.digest, mediaType: r.media_type, size: Number(r.size), platform: r.platform ?? undefined }));
  }

  async manifest(digest: string): Promise<{ mediaType: string; size: number; configDigest: string | null } | undefined> {
    const result = await this.db.pool.query<{ media_type: string; size: string; config_digest: string | null }>(
      'SELECT media_type, size, config_digest FROM manifests WHERE digest = $1',
      [digest],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : { mediaType: row.media_type, size: Number(row.size), configDigest: row.config_digest };
  }

  /** The tags of a repository ("docker.io/library/busybox"), sorted. */
  async tagsOf(repository: string): Promise<string[]> {
    const result = await this.db.pool.query<{ tag: string }>('SELECT tag FROM tags WHERE repository = $1 ORDER BY tag', [repository]);
    return result.rows.map((r) => r.tag);
  }

  /** Every repository that has a tag, sorted. */
  async repositories(): Promise<string[]> {
    const result = await this.db.pool.query<{ repository: string }>('SELECT DISTINCT repository FROM tags ORDER BY repository');
    return result.rows.map((r) => r.repository);
  }

  /** Every blob some manifest refers to, and the manifests themselves: what GC keeps. */
  async referencedBlobs(): Promise<Set<string>> {
    const result = await this.db.pool.query<{ digest: string }>(
      'SELECT digest FROM manifests UNION SELECT digest FROM manifest_children',
    );
    return new Set(result.rows.map((r) => r.digest));
  }
}
