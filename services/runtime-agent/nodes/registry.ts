import { cpus, networkInterfaces, totalmem } from 'node:os';
import type { Database, PoolClient } from '../../../libs/db';
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
 * (`<events prefix>-heartbeat.<name>`, outside the event stream, so not kept) for whoever listens.
 */
export class NodeRegistry {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly node: string,
    private readonly self: { endpoint: string | undefined; labels: Record<string, string>; version: string; bridge: string },
    private readonly db: Database,
    private readonly events: EventWriter,
    private readonly nats: NatsLink,
    private readonly subjectPrefix: string,
    private readonly logger: Logger,
  ) {}

  /** Registers the node (a join event the first time; reachable when it had been found silent) and starts the heartbeat. */
  async register(): Promise<void> {
    await this.db.transaction(async (client) => {
      const { rows } = await client.query<{ joined: boolean; returned: boolean | null }>(
        `WITH previous AS (SELECT unreachable_since FROM nodes WHERE name = $1)
         INSERT INTO nodes (name, addresses, cpus, memory_bytes, version, endpoint, labels) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (name) DO UPDATE SET addresses = excluded.addresses, cpus = excluded.cpus, memory_bytes = excluded.memory_bytes,
           version = excluded.version, endpoint = excluded.endpoint, labels = excluded.labels, heartbeat_at = now(), unreachable_since = NULL
         RETURNING (xmax = 0) AS joined, (SELECT unreachable_since IS NOT NULL FROM previous) AS returned`,
        [this.node, hostAddresses(this.self.bridge), cpus().length, totalmem(), this.self.version, this.self.endpoint ?? null, this.self.labels],
      );
      if (rows[0]!.joined) await this.nodeEvent(client, 'join', this.node);
      if (rows[0]!.returned) await this.nodeEvent(client, 'reachable', this.node);
    });
    this.timer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private nodeEvent(client: PoolClient, action: NodeAction, name: string): Promise<unknown> {
    return this.events.append(client, { type: 'node', action, actorId: name, attributes: { name } });
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

  async drain(name: string, draining: boolean): Promise<void> {
    await this.inspect(name);
    await this.db.transaction(async (client) => {
      await client.query('UPDATE nodes SET draining = $2 WHERE name = $1', [name, draining]);
      await this.nodeEvent(client, draining ? 'drain' : 'ready', name);
    });
  }

  /**
   * `berth node rm`: a node that left for good, silent already (its agent stopped). With containers
   * recorded on it, only when forced: their records go with it, since nobody can act on them.
   */
  async remove(name: string, force: boolean): Promise<void> {
    const node = await this.inspect(name);
    if (node.state !== 'unreachable') throw failedPrecondition(`node ${name} is ${node.state}: stop its agent first (a node is removed once it is silent)`);
    if (node.containers > 0 && !force) {
      throw failedPrecondition(`node ${name} still has ${node.containers} container${node.containers > 1 ? 's' : ''} recorded: bring it back to remove them, or --force to forget them`);
    }
    await this.db.transaction(async (client) => {
      await client.query('DELETE FROM containers WHERE node = $1', [name]);
      await client.query('DELETE FROM networks WHERE node = $1', [name]);
      await client.query('DELETE FROM image_layers WHERE node = $1', [name]);
      await client.query('DELETE FROM nodes WHERE name = $1', [name]);
      await this.nodeEvent(client, 'leave', name);
    });
  }

  /**
   * Beats for this node, and marks the nodes silent for too long unreachable: whichever agent notices
   * first records the event (the row's update is conditional, so no other agent records it again).
   */
  private async heartbeat(): Promise<void> {
    try {
      await this.db.transaction(async (client) => {
        const { rows } = await client.query<{ returned: boolean | null }>(
          `WITH previous AS (SELECT unreachable_since FROM nodes WHERE name = $1)
           UPDATE nodes SET heartbeat_at = now(), unreachable_since = NULL WHERE name = $1
           RETURNING (SELECT unreachable_since IS NOT NULL FROM previous) AS returned`,
          [this.node],
        );
        if (rows[0]?.returned) await this.nodeEvent(client, 'reachable', this.node);
        const silent = await client.query<{ name: string }>(
          `UPDATE nodes SET unreachable_since = now()
            WHERE name <> $1 AND unreachable_since IS NULL AND heartbeat_at < now() - make_interval(secs => $2) RETURNING name`,
          [this.node, UNREACHABLE_AFTER_MS / 1000],
        );
        for (const { name } of silent.rows) await this.nodeEvent(client, 'unreachable', name);
      });
      const nc = await this.nats.connectionReady();
      // Beside the events' subjects, not under them: the event stream keeps what is under them, and a
      // beat is not an event.
      nc.publish(`${this.subjectPrefix}-heartbeat.${this.node}`, JSON.stringify({ node: this.node, time: new Date().toISOString() }));
    } catch (err) {
      this.logger.warn(`heartbeat: ${messageOf(err)}`);
    }
  }
}

type NodeAction = 'join' | 'leave' | 'drain' | 'ready' | 'unreachable' | 'reachable';

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

/** The host's IPv4 addresses, loopback and Berth's own bridges (the default one, networks', veths) left out. */
function hostAddresses(defaultBridge: string): string[] {
  return Object.entries(networkInterfaces())
    .filter(([name]) => name !== defaultBridge && !name.startsWith('berth') && !name.startsWith('vb'))
    .flatMap(([, addresses]) => addresses ?? [])
    .filter((address) => address.family === 'IPv4' && !address.internal)
    .map((address) => address.address);
}
