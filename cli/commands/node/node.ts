import { invalidArgument } from '../../../libs/errors';
import type { node } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { nodeService } from '../../client';
import { printInspected, table } from '../../output';
import { humanSize } from '../../progress';

/** `berth node ls`: each node's state, resources and containers. */
export async function listNodes(args: string[]): Promise<number> {
  parseFlags(args, {}, 'node ls');
  const service = nodeService();
  try {
    const { nodes } = await service.call<node.ListNodesResponse>((m, o, cb) => service.client.listNodes({}, m, o, cb));
    process.stdout.write(
      table(
        ['NAME', 'STATE', 'ADDRESSES', 'CPUS', 'MEMORY', 'CONTAINERS', 'VERSION'],
        nodes.map((n) => [n.name, n.state, n.addresses.join(',') || '-', String(n.cpus), humanSize(n.memoryBytes), `${n.running}/${n.containers}`, n.version]),
      ),
    );
  } finally {
    service.close();
  }
  return 0;
}

/** `berth node inspect [-f TEMPLATE] NODE...` */
export async function inspectNodes(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { format: { type: 'string', short: 'f', value: 'TEMPLATE', description: 'Print each node through a Go template ({{.Field}} or {{json .Field}}) instead of JSON' } }, 'node inspect');
  if (positionals.length === 0) throw invalidArgument('node inspect: give at least one node');
  const service = nodeService();
  const found: unknown[] = [];
  try {
    for (const name of positionals) found.push((await service.call<node.InspectNodeResponse>((m, o, cb) => service.client.inspectNode({ node: name }, m, o, cb))).node);
  } finally {
    service.close();
  }
  printInspected(found, values.format);
  return 0;
}

/** `berth node drain [--undo] NODE`: no new containers there (or again, with --undo). */
export async function drainNode(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { undo: { type: 'boolean', description: 'Let new containers be placed on the node again' } }, 'node drain');
  if (positionals.length !== 1) throw invalidArgument('node drain: give one node');
  const service = nodeService();
  try {
    await service.call((m, o, cb) => service.client.drainNode({ node: positionals[0]!, undo: values.undo ?? false }, m, o, cb));
  } finally {
    service.close();
  }
  process.stdout.write(`${positionals[0]}\n`);
  return 0;
}

/** `berth node rm [--force] NODE...`: forget nodes that left (silent already). */
export async function removeNodes(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { force: { type: 'boolean', short: 'f', description: 'Remove a node that still has containers recorded, forgetting them' } }, 'node rm');
  if (positionals.length === 0) throw invalidArgument('node rm: give at least one node');
  const service = nodeService();
  try {
    for (const name of positionals) {
      await service.call((m, o, cb) => service.client.removeNode({ node: name, force: values.force ?? false }, m, o, cb));
      process.stdout.write(`${name}\n`);
    }
  } finally {
    service.close();
  }
  return 0;
}
