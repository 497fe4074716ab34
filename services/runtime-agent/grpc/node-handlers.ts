import type { node } from '../../../libs/proto';
import type { ServiceContext } from '../../../libs/service';
import type { NodeInfo, NodeRegistry } from '../nodes/registry';

/** The NodeService RPCs: proto in, domain call, proto out. */
export function nodeHandlers(service: ServiceContext, nodes: NodeRegistry): node.NodeServiceServer {
  const { rpc } = service;
  return {
    listNodes: rpc.unary(async () => ({ nodes: (await nodes.list()).map(toNode) })),
    inspectNode: rpc.unary(async (request: node.InspectNodeRequest) => ({ node: toNode(await nodes.inspect(request.node)) })),
    drainNode: rpc.unary(async (request: node.DrainNodeRequest) => {
      await nodes.drain(request.node, !request.undo);
      return {};
    }),
    removeNode: rpc.unary(async (request: node.RemoveNodeRequest) => {
      await nodes.remove(request.node, request.force);
      return {};
    }),
  };
}

function toNode(info: NodeInfo): node.Node {
  return {
    name: info.name,
    state: info.state,
    addresses: info.addresses,
    endpoint: info.endpoint ?? '',
    labels: info.labels,
    cpus: info.cpus,
    memoryBytes: info.memoryBytes,
    containers: info.containers,
    running: info.running,
    version: info.version,
    joined: info.joinedAt,
    heartbeat: info.heartbeatAt,
  };
}
