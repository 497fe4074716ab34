import type { Database, PoolClient } from '../../../libs/db';
import type { Container, ContainerState } from '../containers/model';

/** The queries need either the pool or a transaction's client. */
type Queryable = Pick<PoolClient, 'query'>;

interface ContainerRow {
  id: string;
  name: string;
  node: string;
  placement: string;
  image_id: string;
  image_name: string;
  spec: Container['spec'];
  layers: string[];
  state: ContainerState;
  pid: number;
  exit_code: number;
  error: string;
  oom_killed: boolean;
  stopped_by_user: boolean;
  remove_volumes: boolean;
  restart_count: number;
  health: Container['health'];
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function toContainer(row: ContainerRow): Container {
  return {
    id: row.id,
    name: row.name,
    node: row.node,
    placement: row.placement,
    imageId: row.image_id,
    imageName: row.image_name,
    spec: row.spec,
    layers: row.layers,
    state: row.state,
    pid: row.pid,
    exitCode: row.exit_code,
    error: row.error,
    oomKilled: row.oom_killed,
    stoppedByUser: row.stopped_by_user,
    removeVolumes: row.remove_volumes,
    restartCount: row.restart_count,
    health: row.health,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** The fields a state change may set, and their columns. */
export type ContainerChange = Partial<
  Pick<Container, 'name' | 'spec' | 'state' | 'pid' | 'exitCode' | 'error' | 'oomKilled' | 'stoppedByUser' | 'removeVolumes' | 'restartCount' | 'health' | 'startedAt' | 'finishedAt'>
>;

const COLUMNS: Record<keyof ContainerChange, string> = {
  name: 'name',
  spec: 'spec',
  state: 'state',
  pid: 'pid',
  exitCode: 'exit_code',
  error: 'error',
  oomKilled: 'oom_killed',
  stoppedByUser: 'stopped_by_user',
  removeVolumes: 'remove_volumes',
  restartCount: 'restart_count',
  health: 'health',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
};

/** The runtime schema: containers, and the layers each node keeps for its images. */
export class ContainerRepository {
  constructor(private readonly db: Database) {}

  async insert(client: Queryable, container: Container): Promise<void> {
    await client.query(
      `INSERT INTO containers (id, name, node, placement, image_id, image_name, spec, layers, state, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [container.id, container.name, container.node, container.placement, container.imageId, container.imageName, container.spec, container.layers, container.state, container.createdAt],
    );
  }

  async get(id: string, client: Queryable = this.db.pool): Promise<Container | undefined> {
    const { rows } = await client.query<ContainerRow>('SELECT * FROM containers WHERE id = $1', [id]);
    return rows[0] && toContainer(rows[0]);
  }

  /** Containers whose id is the text, whose name is the text, or whose id starts with it. */
  async match(text: string): Promise<Container[]> {
    const { rows } = await this.db.pool.query<ContainerRow>(
      `SELECT * FROM containers WHERE id = $1 OR name = $1 OR (length($1) > 0 AND $1 ~ '^[0-9a-f]+$' AND id LIKE $1 || '%')
       ORDER BY (id = $1) DESC, (name = $1) DESC`,
      [text.replace(/^\//, '')],
    );
    return rows.map(toContainer);
  }

  async byName(name: string, client: Queryable = this.db.pool): Promise<Container | undefined> {
    const { rows } = await client.query<ContainerRow>('SELECT * FROM containers WHERE name = $1', [name]);
    return rows[0] && toContainer(rows[0]);
  }

  /** Containers of one node (or all nodes), newest first. */
  async list(node?: string): Promise<Container[]> {
    const { rows } = await this.db.pool.query<ContainerRow>(
      'SELECT * FROM containers WHERE $1::text IS NULL OR node = $1 ORDER BY created_at DESC, id',
      [node ?? null],
    );
    return rows.map(toContainer);
  }

  async update(client: Queryable, id: string, change: ContainerChange): Promise<Container> {
    const keys = Object.keys(change) as Array<keyof ContainerChange>;
    const assignments = keys.map((key, index) => `${COLUMNS[key]} = $${index + 2}`);
    const { rows } = await client.query<ContainerRow>(
      `UPDATE containers SET ${assignments.join(', ')} WHERE id = $1 RETURNING *`,
      [id, ...keys.map((key) => change[key])],
    );
    return toContainer(rows[0]!);
  }

  async delete(client: Queryable, id: string): Promise<void> {
    await client.query('DELETE FROM containers WHERE id = $1', [id]);
  }

  /** Which of these ids are recorded containers (of any node). */
  async recorded(ids: string[]): Promise<Set<string>> {
    const { rows } = await this.db.pool.query<{ id: string }>('SELECT id FROM containers WHERE id = ANY($1)', [ids]);
    return new Set(rows.map((row) => row.id));
  }

  async countUsingImage(imageId: string): Promise<number> {
    const { rows } = await this.db.pool.query<{ count: string }>('SELECT count(*) FROM containers WHERE image_id = $1', [imageId]);
    return Number(rows[0]!.count);
  }

  /** The node's running and paused containers' ids and pids. */
  async runningOf(node: string): Promise<{ id: string; pid: number }[]> {
    const { rows } = await this.db.pool.query<{ id: string; pid: number }>("SELECT id, pid FROM containers WHERE node = $1 AND state IN ('running', 'paused')", [node]);
    return rows;
  }

  /** How many containers of a node are in each state. */
  async countByState(node: string): Promise<Map<string, number>> {
    const { rows } = await this.db.pool.query<{ state: string; count: string }>('SELECT state, count(*) FROM containers WHERE node = $1 GROUP BY state', [node]);
    return new Map(rows.map((row) => [row.state, Number(row.count)]));
  }

  /** Remembers the layers of an image prepared on a node. */
  async recordImageLayers(node: string, imageId: string, layers: string[]): Promise<void> {
    await this.db.pool.query(
      `INSERT INTO image_layers (node, image_id, layers) VALUES ($1, $2, $3)
       ON CONFLICT (node, image_id) DO UPDATE SET layers = excluded.layers`,
      [node, imageId, layers],
    );
  }

  /** The images whose layers a node keeps. */
  async imagesOf(node: string): Promise<string[]> {
    const { rows } = await this.db.pool.query<{ image_id: string }>('SELECT image_id FROM image_layers WHERE node = $1', [node]);
    return rows.map((r) => r.image_id);
  }

  async forgetImage(node: string, imageId: string): Promise<void> {
    await this.db.pool.query('DELETE FROM image_layers WHERE node = $1 AND image_id = $2', [node, imageId]);
  }

  /** Every chain id that a container or a prepared image of the node still needs. */
  async layersInUse(node: string): Promise<Set<string>> {
    const { rows } = await this.db.pool.query<{ layer: string }>(
      `SELECT unnest(layers) AS layer FROM containers WHERE node = $1
       UNION SELECT unnest(layers) FROM image_layers WHERE node = $1`,
      [node],
    );
    return new Set(rows.map((r) => r.layer));
  }
}
