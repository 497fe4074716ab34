import { createClient, CallForwarder, isForwarded, type CallContext, type ClientOptions } from '../../../libs/grpc';
import { isBerthError, unavailable } from '../../../libs/errors';
import { runtime } from '../../../libs/proto';
import { HEARTBEAT_MS, type NodeRegistry } from './registry';

/** The node of a container named by id, id prefix or name; undefined when no single one matches. */
export type LocateContainer = (reference: string) => Promise<string | undefined>;

/**
 * Decides which agent answers a call for a container: this one for its own containers (and for
 * references that match none, which it reports as NOT_FOUND), else the agent of the container's
 * node, reached over mutual TLS at the endpoint that node registered.
 */
export class NodeRouter {
  private readonly agents = new Map<string, { endpoint: string; client: runtime.RuntimeServiceClient; forwarder: CallForwarder }>();
  /** Whether this node is the only one, as last read, and until when to believe it: nodes join seldom. */
  private solitude = { alone: false, until: 0 };

  constructor(
    private readonly node: string,
    private readonly nodes: NodeRegistry,
    private readonly locate: LocateContainer,
    private readonly clientOptions: ClientOptions,
  ) {}

  /** Where a call for the container goes: undefined to answer it here. */
  async forwarderFor(reference: string, context: CallContext): Promise<CallForwarder | undefined> {
    if (isForwarded(context) || (await this.alone())) return undefined;
    let node: string | undefined;
    try {
      node = await this.locate(reference);
    } catch (err) {
      if (isBerthError(err, 'not_found') || isBerthError(err, 'invalid_argument')) return undefined;
      throw err;
    }
    return node === undefined || node === this.node ? undefined : this.forwarderTo(node);
  }

  /** The forwarder to another node's agent; UNAVAILABLE at once when that node is silent or unreachable by TCP. */
  async forwarderTo(name: string): Promise<CallForwarder> {
    const node = await this.nodes.inspect(name);
    if (node.state === 'unreachable') {
      throw unavailable(`node ${name} is unreachable: no heartbeat since ${node.heartbeatAt.toISOString()}; its containers cannot be reached until its agent is back`);
    }
    if (node.endpoint === undefined) {
      throw unavailable(`node ${name} has no address for other agents: set services.runtimeAgent.listen (and advertise) on it, or call its agent directly`);
    }
    return this.agentAt(node.name, node.endpoint).forwarder;
  }

  close(): void {
    for (const agent of this.agents.values()) agent.client.close();
    this.agents.clear();
  }

  private agentAt(name: string, endpoint: string) {
    const known = this.agents.get(name);
    if (known !== undefined && known.endpoint === endpoint) return known;
    known?.client.close();
    const client = createClient(runtime.RuntimeServiceClient, endpoint, this.clientOptions);
    const agent = { endpoint, client, forwarder: new CallForwarder(client, `node ${name} (${endpoint})`, this.node) };
    this.agents.set(name, agent);
    return agent;
  }

  /** The common single-host case needs no lookup of the container's node. */
  private async alone(): Promise<boolean> {
    if (Date.now() < this.solitude.until) return this.solitude.alone;
    const alone = (await this.nodes.list()).every((node) => node.name === this.node);
    this.solitude = { alone, until: Date.now() + HEARTBEAT_MS };
    return alone;
  }
}
