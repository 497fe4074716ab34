import { failedPrecondition, invalidArgument, notFound, unavailable } from '../../../libs/errors';
import type { NodeInfo } from './registry';

/** Where a new container should go, as the caller asked it. */
export interface PlacementRequest {
  /** The node the caller named; empty to let Berth choose. */
  node: string;
  /** "node.name==N", "node.labels.KEY!=VALUE", ...: all must hold. */
  constraints: string[];
  /** The named volumes the container mounts. */
  volumes: string[];
}

/** The chosen node, and why, as inspect explains it. */
export interface Placement {
  node: string;
  reason: string;
}

/** The nodes that hold volumes of the given names (a name can be on several nodes). */
export type LocateVolumes = (names: string[]) => Promise<{ name: string; node: string }[]>;

interface Constraint {
  text: string;
  holds(node: NodeInfo): boolean;
}

const CONSTRAINT = /^node\.(name|labels\.([A-Za-z0-9][A-Za-z0-9._/-]*))\s*(==|!=)\s*(.+)$/;

/** Swarm's constraint syntax, for the two things a Berth node has: its name and its labels. */
export function parseConstraint(text: string): Constraint {
  const match = CONSTRAINT.exec(text.trim());
  if (match === null) throw invalidArgument(`constraint "${text}": use node.name==NAME, node.labels.KEY==VALUE, or != for either`);
  const [, , labelKey, operator, expected] = match;
  const value = (node: NodeInfo) => (labelKey === undefined ? node.name : node.labels[labelKey]);
  return { text: text.trim(), holds: (node) => (value(node) === expected!.trim()) === (operator === '==') };
}

/**
 * Chooses a node for a new container: the one the caller names; else, among the ready nodes that
 * meet the constraints, the ones holding the named volumes the container mounts (a volume lives on
 * one node's disk); else all of them; of those, the least loaded.
 */
export async function placeContainer(nodes: NodeInfo[], request: PlacementRequest, locateVolumes: LocateVolumes): Promise<Placement> {
  const constraints = request.constraints.map(parseConstraint);
  const met = constraints.length === 0 ? '' : `; meets ${constraints.map((c) => c.text).join(', ')}`;
  if (request.node !== '') return { node: checkNamedNode(nodes, request.node, constraints).name, reason: `named by the caller${met}` };

  const refusals: string[] = [];
  const candidates = nodes.filter((node) => {
    const refusal = refusalOf(node, constraints);
    if (refusal !== undefined) refusals.push(refusal);
    return refusal === undefined;
  });
  if (candidates.length === 0) throw failedPrecondition(`no node can take the container: ${refusals.join('; ') || 'no node is registered'}`);

  // On a single host every volume is there: no need to ask.
  const holders = nodes.length > 1 ? await volumeHolders(candidates, request.volumes, locateVolumes) : undefined;
  if (holders !== undefined) {
    const chosen = leastLoaded(holders.nodes);
    return { node: chosen.name, reason: `holds its volume${holders.names.length > 1 ? 's' : ''} ${holders.names.join(', ')}${met}` };
  }
  const chosen = leastLoaded(candidates);
  return { node: chosen.name, reason: `least loaded of ${candidates.length} ready node${candidates.length > 1 ? 's' : ''} (${chosen.running} running on ${chosen.cpus} CPUs)${met}` };
}

function checkNamedNode(nodes: NodeInfo[], name: string, constraints: Constraint[]): NodeInfo {
  const node = nodes.find((candidate) => candidate.name === name);
  if (node === undefined) throw notFound(`node ${name} not found: no agent registered it (berth node ls)`);
  if (node.state === 'unreachable') throw unavailable(`node ${name} is unreachable: no heartbeat since ${node.heartbeatAt.toISOString()}`);
  const refusal = refusalOf(node, constraints);
  if (refusal !== undefined) throw failedPrecondition(refusal);
  return node;
}

/** Why a node cannot take a new container, or undefined when it can. */
function refusalOf(node: NodeInfo, constraints: Constraint[]): string | undefined {
  if (node.state === 'unreachable') return `node ${node.name} is unreachable`;
  if (node.state === 'draining') return `node ${node.name} is draining: no new containers are placed there (berth node drain --undo ${node.name})`;
  const unmet = constraints.filter((constraint) => !constraint.holds(node));
  if (unmet.length > 0) return `node ${node.name} does not meet ${unmet.map((c) => c.text).join(', ')}`;
  return undefined;
}

/**
 * The candidates that hold every named volume that exists somewhere (the others are made where the
 * container goes), or undefined when none exists yet.
 */
async function volumeHolders(candidates: NodeInfo[], volumes: string[], locate: LocateVolumes): Promise<{ names: string[]; nodes: NodeInfo[] } | undefined> {
  if (volumes.length === 0) return undefined;
  const locations = await locate([...new Set(volumes)]);
  if (locations.length === 0) return undefined;
  const names = [...new Set(locations.map((location) => location.name))];
  const holders = candidates.filter((node) => names.every((name) => locations.some((l) => l.name === name && l.node === node.name)));
  if (holders.length === 0) {
    const where = names.map((name) => `${name} on ${locations.filter((l) => l.name === name).map((l) => l.node).join(', ')}`);
    throw failedPrecondition(`no node that can take the container holds all its volumes (${where.join('; ')}): a volume lives on one node`);
  }
  return { names, nodes: holders };
}

/** Fewest running containers per CPU, then fewest containers, then by name (so ties are stable). */
function leastLoaded(nodes: NodeInfo[]): NodeInfo {
  const load = (node: NodeInfo) => node.running / Math.max(1, node.cpus);
  return [...nodes].sort((a, b) => load(a) - load(b) || a.containers - b.containers || a.name.localeCompare(b.name))[0]!;
}
