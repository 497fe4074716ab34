import type { Database, PoolClient } from '../../../libs/db';
import type { Volume } from '../volumes/model';

/** The queries need either the pool or a transaction's client. */
type Queryable = Pick<PoolClient, 'query'>;

interface VolumeRow {
  name: string;
  node: string;
  driver: 'local';
  labels: Record<string, string>;
  options: Record<string, string>;
  anonymous: boolean;
  created_at: Date;
  users: { container_id: string; mounted: boolean }[];
}

/** A volume's row with its uses gathered as a JSON array. */
const SELECT_VOLUMES = `
  SELECT v.name, v.node, v.driver, v.labels, v.options, v.anonymous, v.created_at,
         COALESCE(json_agg(json_build_object('container_id', u.container_id, 'mounted', u.mounted) ORDER BY u.container_id)
                  FILTER (WHERE u.container_id IS NOT NULL), '[]') AS users
    FROM volumes v LEFT JOIN volume_uses u ON u.node = v.node AND u.name = v.name`;

function toVolume(row: VolumeRow): Volume {
  return {
    name: row.name,
    node: row.node,
    driver: row.driver,
    labels: row.labels,
    options: row.options,
    anonymous: row.anonymous,
    createdAt: row.created_at,
    users: row.users.map((user) => ({ containerId: user.container_id, mounted: user.mounted })),
  };
}

/** The volumes schema, for one node: its volumes and which containers use them. */
export class VolumeRepository {
  constructor(
    private readonly db: Database,
    private readonly node: string,
  ) {}

  async get(name: string, client: Queryable = this.db.pool): Promise<Volume | undefined> {
    const { rows } = await client.query<VolumeRow>(`${SELECT_VOLUMES} WHERE v.node = $1 AND v.name = $2 GROUP BY v.node, v.name`, [this.node, name]);
    return rows[0] === undefined ? undefined : toVolume(rows[0]);
  }

  async list(): Promise<Volume[]> {
    const { rows } = await this.db.pool.query<VolumeRow>(`${SELECT_VOLUMES} WHERE v.node = $1 GROUP BY v.node, v.name ORDER BY v.name`, [this.node]);
    return rows.map(toVolume);
  }

  async insert(client: Queryable, volume: Volume): Promise<void> {
    await client.query(
      `INSERT INTO volumes (node, name, driver, labels, options, anonymous, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [this.node, volume.name, volume.driver, volume.labels, volume.options, volume.anonymous, volume.createdAt],
    );
  }

  /** Removes the volume's row and, with it, its uses. */
  async delete(client: Queryable, name: string): Promise<void> {
    await client.query(`DELETE FROM volumes WHERE node = $1 AND name = $2`, [this.node, name]);
  }

  async addUse(client: Queryable, name: string, containerId: string): Promise<void> {
    await client.query(
      `INSERT INTO volume_uses (node, name, container_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [this.node, name, containerId],
    );
  }

  /** Whether there was such a use. */
  async removeUse(client: Queryable, name: string, containerId: string): Promise<boolean> {
    const { rowCount } = await client.query(`DELETE FROM volume_uses WHERE node = $1 AND name = $2 AND container_id = $3`, [this.node, name, containerId]);
    return (rowCount ?? 0) > 0;
  }

  /** Whether there is such a use. */
  async setMounted(client: Queryable, name: string, containerId: string, mounted: boolean): Promise<boolean> {
    const { rowCount } = await client.query(
      `UPDATE volume_uses SET mounted = $4 WHERE node = $1 AND name = $2 AND container_id = $3`,
      [this.node, name, containerId, mounted],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Which nodes hold volumes of these names: of every node, since placement asks for all of them. */
  async locate(names: string[]): Promise<{ name: string; node: string }[]> {
    const { rows } = await this.db.pool.query<{ name: string; node: string }>('SELECT name, node FROM volumes WHERE name = ANY($1) ORDER BY name, node', [names]);
    return rows;
  }
}
