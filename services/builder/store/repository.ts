import type { Database } from '../../../libs/db';
import type { BuildState } from '../build/state';

interface CacheRow {
  state: Omit<BuildState, 'key' | 'imageId'>;
  image_id: string | null;
}

/** The builds schema: the cache of build states by step key. */
export class CacheRepository {
  constructor(private readonly db: Database) {}

  /** The state a step led to before, marked as used now. */
  async lookup(key: string): Promise<BuildState | undefined> {
    const { rows } = await this.db.pool.query<CacheRow>(
      `UPDATE cache_entries SET last_used_at = now() WHERE key = $1 RETURNING state, image_id`,
      [key],
    );
    const row = rows[0];
    return row === undefined ? undefined : { ...row.state, key, ...(row.image_id !== null ? { imageId: row.image_id } : {}) };
  }

  async save(state: BuildState): Promise<void> {
    await this.db.pool.query(
      `INSERT INTO cache_entries (key, state, image_id) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state, image_id = EXCLUDED.image_id, last_used_at = now()`,
      [state.key, { config: state.config, layers: state.layers }, state.imageId ?? null],
    );
  }

  /** Forgets the entries last used before a time (all without one); the images they held. */
  async drop(usedBefore: Date | undefined): Promise<{ entries: number; imageIds: string[] }> {
    const { rows } = await this.db.pool.query<{ image_id: string | null }>(
      `DELETE FROM cache_entries WHERE $1::timestamptz IS NULL OR last_used_at < $1 RETURNING image_id`,
      [usedBefore ?? null],
    );
    const imageIds = [...new Set(rows.map((row) => row.image_id).filter((id): id is string => id !== null))];
    // An image that a kept entry still names stays held.
    const { rows: kept } = await this.db.pool.query<{ image_id: string }>(`SELECT DISTINCT image_id FROM cache_entries WHERE image_id = ANY($1)`, [imageIds]);
    const stillHeld = new Set(kept.map((row) => row.image_id));
    return { entries: rows.length, imageIds: imageIds.filter((id) => !stillHeld.has(id)) };
  }
}
