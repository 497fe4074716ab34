import type { Database, PoolClient } from '../../../libs/db';
import type { Endpoint, Network, PublishedPort } from '../network/model';

type Queryable = Pick<PoolClient, 'query'>;

interface NetworkRow {
  id: string;
  name: string;
  subnet: string;
  gateway: string;
  bridge: string;
  internal: boolean;
  labels: Record<string, string>;
  created_at: Date;
}

interface EndpointRow {
  network_id: string;
  container_id: string;
  address: string;
  mac: string;
  aliases: string[];
  position: number;
}

const toNetwork = (row: NetworkRow): Network => ({
  id: row.id,
  name: row.name,
  subnet: row.subnet,
  gateway: row.gateway,
  bridge: row.bridge,
  internal: row.internal,
  labels: row.labels,
  createdAt: row.created_at,
});

const toEndpoint = (row: EndpointRow): Endpoint => ({
  networkId: row.network_id,
  containerId: row.container_id,
  address: row.address,
  mac: row.mac,
  aliases: row.aliases,
  position: row.position,
});

/** The tables of networks, their endpoints and the ports running containers hold (schema runtime). */
export class NetworkRepository {
  constructor(private readonly db: Database) {}

  async insertNetwork(client: Queryable, node: string, network: Network): Promise<void> {
    await client.query(
      'INSERT INTO networks (id, node, name, subnet, gateway, bridge, internal, labels, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      [network.id, node, network.name, network.subnet, network.gateway, network.bridge, network.internal, network.labels, network.createdAt],
    );
  }

  async networks(node: string): Promise<Network[]> {
    const { rows } = await this.db.pool.query<NetworkRow>(
      "SELECT id, name, host(subnet) || '/' || masklen(subnet) AS subnet, host(gateway) AS gateway, bridge, internal, labels, created_at FROM networks WHERE node = $1 ORDER BY name",
      [node],
    );
    return rows.map(toNetwork);
  }

  async deleteNetwork(client: Queryable, id: string): Promise<void> {
    await client.query('DELETE FROM networks WHERE id = $1', [id]);
  }

  async endpointsOfNetwork(networkId: string): Promise<Endpoint[]> {
    const { rows } = await this.db.pool.query<EndpointRow>(`SELECT network_id, container_id, host(address) AS address, mac, aliases, position FROM endpoints WHERE network_id = $1 ORDER BY address`, [networkId]);
    return rows.map(toEndpoint);
  }

  async endpointsOfContainer(containerId: string): Promise<Endpoint[]> {
    return this.endpointsOfContainers([containerId]);
  }

  /** The endpoints of these containers, each container's in the order it joined. */
  async endpointsOfContainers(containerIds: string[]): Promise<Endpoint[]> {
    const { rows } = await this.db.pool.query<EndpointRow>(
      `SELECT network_id, container_id, host(address) AS address, mac, aliases, position FROM endpoints WHERE container_id = ANY($1) ORDER BY position`,
      [containerIds],
    );
    return rows.map(toEndpoint);
  }

  /** Every endpoint of the node's networks with its container's name and whether it runs, in joining order (for names). */
  async namedEndpointsOfNode(node: string): Promise<(Endpoint & { containerName: string; running: boolean })[]> {
    const { rows } = await this.db.pool.query<EndpointRow & { name: string; running: boolean }>(
      `SELECT e.network_id, e.container_id, host(e.address) AS address, e.mac, e.aliases, e.position, c.name,
              c.state IN ('running', 'paused') AS running
         FROM endpoints e JOIN networks n ON n.id = e.network_id JOIN containers c ON c.id = e.container_id
        WHERE n.node = $1 ORDER BY e.position`,
      [node],
    );
    return rows.map((row) => ({ ...toEndpoint(row), containerName: row.name, running: row.running }));
  }

  /** A network's endpoints with their containers' names. */
  async namedEndpointsOfNetwork(networkId: string): Promise<(Endpoint & { containerName: string })[]> {
    const { rows } = await this.db.pool.query<EndpointRow & { name: string }>(
      `SELECT e.network_id, e.container_id, host(e.address) AS address, e.mac, e.aliases, e.position, c.name
         FROM endpoints e JOIN containers c ON c.id = e.container_id WHERE e.network_id = $1 ORDER BY e.address`,
      [networkId],
    );
    return rows.map((row) => ({ ...toEndpoint(row), containerName: row.name }));
  }

  /** Records an endpoint; false when its address was taken meanwhile (the caller picks another). */
  async insertEndpoint(endpoint: Endpoint): Promise<boolean> {
    const result = await this.db.pool.query(
      `INSERT INTO endpoints (network_id, container_id, address, mac, aliases, position) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (network_id, address) DO NOTHING`,
      [endpoint.networkId, endpoint.containerId, endpoint.address, endpoint.mac, endpoint.aliases, endpoint.position],
    );
    return result.rowCount === 1;
  }

  async deleteEndpoint(networkId: string, containerId: string): Promise<void> {
    await this.db.pool.query('DELETE FROM endpoints WHERE network_id = $1 AND container_id = $2', [networkId, containerId]);
  }

  async publishedPorts(containerId: string): Promise<PublishedPort[]> {
    return this.publishedPortsOf([containerId]);
  }

  async publishedPortsOf(containerIds: string[]): Promise<PublishedPort[]> {
    const { rows } = await this.db.pool.query<{ container_id: string; protocol: 'tcp' | 'udp'; container_port: number; host_ip: string; host_port: number }>(
      'SELECT container_id, protocol, container_port, host_ip, host_port FROM published_ports WHERE container_id = ANY($1) ORDER BY container_port, protocol, host_ip',
      [containerIds],
    );
    return rows.map((row) => ({ containerId: row.container_id, protocol: row.protocol, containerPort: row.container_port, hostIp: row.host_ip, hostPort: row.host_port }));
  }

  async setPublishedPorts(containerId: string, ports: PublishedPort[]): Promise<void> {
    await this.db.transaction(async (client) => {
      await client.query('DELETE FROM published_ports WHERE container_id = $1', [containerId]);
      for (const port of ports) {
        await client.query('INSERT INTO published_ports (container_id, protocol, container_port, host_ip, host_port) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [
          containerId, port.protocol, port.containerPort, port.hostIp, port.hostPort,
        ]);
      }
    });
  }
}
