import { cpus, networkInterfaces, totalmem } from 'node:os';
import type { Database } from '../../../libs/db';
import { failedPrecondition, messageOf, notFound } from '../../../libs/errors';
import type { EventWriter } from '../../../libs/events';
import type { Logger } from '../../../libs/logging';
import type { NatsLink } from '../../../libs/events';

/** How often an agent says it is alive; a node silent for three intervals is unreachable. */
export const HEARTBEAT_MS = 5_000;
const UNREACHABLE_AFTER_MS = 3 * HEARTBEAT_MS;

export type NodeState = 'ready' | 'draining' | 'unreachable';

/** A node as ps-like listings show it. */
export interface NodeInfo {
  name: string;
  state: NodeState;
  addresses: string[];
  /** Where the other agents reach its agent; undefined without a TCP listener. */
  endpoint: string | undefined;
  labels: Record<string, string>;
  cpus: number;
  memoryBytes: number;
  containers: number;
  running: number;
  version: string;
  joinedAt: Date;
  heartbeatAt: Date;
}

interface NodeRow {
  name: string;
  addresses: string[];
  endpoint: string | null;
  labels: Record<string, string>;
  cpus: number;
  memory_bytes: string;
  version: string;
  draining: boolean;
  joined_at: Date;
  heartbeat_at: Date;
  containers: string;
  running: string;
  silent_ms: number;
}

/**
 * This agent's node in the cluster's table of nodes: registered (a join event the first time) when
 * the agent starts, its heartbeat written every HEARTBEAT_MS and announced on NATS
 * (`<events prefix>.nodes.<name>.heartbeat`, not kept) for whoever listens.
 */
export class NodeRegistry {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly node: string,
    private readonly self: { endpoint: string | undefined; labels: Record<string, string>; version: string },
    private readonly db: Database,
    private readonly events: EventWriter,
    private readonly nats: NatsLink,
    private readonly subjectPrefix: string,
    private readonly logger: Logger,
  ) {}

  async register(): Promise<void> {
    await this.db.transaction(async (client) => {
      const { rows } = await client.query<{ joined: boolean }>(
        `INSERT INTO nodes (name, addresses, cpus, memory_bytes, version, endpoint, labels) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (name) DO UPDATE SET addresses = excluded.addresses, cpus = excluded.cpus, memory_bytes = excluded.memory_bytes,
           version = excluded.version, endpoint = excluded.endpoint, labels = excluded.labels, heartbeat_at = now()
         RETURNING (xmax = 0) AS joined`,
        [this.node, hostAddresses(), cpus().length, totalmem(), this.self.version, this.self.endpoint ?? null, this.self.labels],
      );
      if (rows[0]!.joined) await this.events.append(client, { type: 'node', action: 'join', actorId: this.node, attributes: { name: this.node } });
    });
    this.timer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async list(): Promise<NodeInfo[]> {
    const { rows } = await this.db.pool.query<NodeRow>(
      `SELECT n.*, EXTRACT(EPOCH FROM now() - n.heartbeat_at) * 1000 AS silent_ms,
              (SELECT count(*) FROM containers c WHERE c.node = n.name) AS containers,
              (SELECT count(*) FROM containers c WHERE c.node = n.name AND c.state IN ('running', 'paused', 'restarting')) AS running
         FROM nodes n ORDER BY n.name`,
    );
    return rows.map(toNodeInfo);
  }

  async inspect(name: string): Promise<NodeInfo> {
    const found = (await this.list()).find((node) => node.name === name);
    if (found === undefined) throw notFound(`node ${name} not found: no agent registered it`);
    return found;
  }

  /** Refuses new containers on a draining node. */
  async checkPlacement(): Promise<void> {
    const { rows } = await this.db.pool.query<{ draining: boolean }>('SELECT draining FROM nodes WHERE name = $1', [this.node]);
    if (rows[0]?.draining) throw failedPrecondition(`node ${this.node} is draining: no new containers are placed there (berth node drain --undo ${this.node})`);
  }

  async drain(name: string, draining: boolean): Promise<void> {
    await this.inspect(name);
    await this.db.transaction(async (client) => {
      await client.query('UPDATE nodes SET draining = $2 WHERE name = $1', [name, draining]);
      await this.events.append(client, { type: 'node', action: draining ? 'drain' : 'ready', actorId: name, attributes: { name } });
    });
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.db.pool.query('UPDATE nodes SET heartbeat_at = now() WHERE name = $1', [this.node]);
      const nc = await this.nats.connectionReady();
      nc.publish(`${this.subjectPrefix}.nodes.${this.node}.heartbeat`, JSON.stringify({ node: this.node, time: new Date().toISOString() }));
    } catch (err) {
      this.logger.warn(`heartbeat: ${messageOf(err)}`);
    }
  }
}

function toNodeInfo(row: NodeRow): NodeInfo {
  return {
    name: row.name,
    state: row.silent_ms > UNREACHABLE_AFTER_MS ? 'unreachable' : row.draining ? 'draining' : 'ready',
    addresses: row.addresses,
    endpoint: row.endpoint ?? undefined,
    labels: row.labels,
    cpus: row.cpus,
    memoryBytes: Number(row.memory_bytes),
    containers: Number(row.containers),
    running: Number(row.running),
    version: row.version,
    joinedAt: row.joined_at,
    heartbeatAt: row.heartbeat_at,
  };
}

/** The host's IPv4 addresses, loopback and Berth's own bridges left out. */
function hostAddresses(): string[] {
  return Object.entries(networkInterfaces())
    .filter(([name]) => !name.startsWith('berth') && !name.startsWith('vb'))
    .flatMap(([, addresses]) => addresses ?? [])
    .filter((address) => address.family === 'IPv4' && !address.internal)
    .map((address) => address.address);
}
