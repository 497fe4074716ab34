/** A bridge network of this node (see NetworkService in the proto). */
export interface Network {
  id: string;
  name: string;
  /** "10.89.3.0/24". */
  subnet: string;
  gateway: string;
  /** The Linux bridge's interface name. */
  bridge: string;
  internal: boolean;
  labels: Record<string, string>;
  createdAt: Date;
}

/** A container's place on a network. */
export interface Endpoint {
  networkId: string;
  containerId: string;
  address: string;
  mac: string;
  aliases: string[];
  /** Connected order: the first one holds the default route. */
  position: number;
}

/** A host port a running container holds. */
export interface PublishedPort {
  containerId: string;
  protocol: 'tcp' | 'udp';
  containerPort: number;
  /** '' for every address. */
  hostIp: string;
  hostPort: number;
}

/** The default bridge's name, as in Docker. */
export const DEFAULT_NETWORK = 'bridge';
/** Modes that are not networks of their own: the host's stack, and loopback only. */
export const HOST_MODE = 'host';
export const NONE_MODE = 'none';
