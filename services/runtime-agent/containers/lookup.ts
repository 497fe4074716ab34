import { failedPrecondition, invalidArgument, notFound } from '../../../libs/errors';
import type { RuntimeContext } from './context';
import type { Container, ContainerState } from './model';

/** A container by id, name or unique id prefix. */
export async function findContainer(context: RuntimeContext, text: string): Promise<Container> {
  if (text === '') throw invalidArgument('name a container');
  const matches = await context.repository.match(text);
  const exact = matches.find((c) => c.id === text || c.name === text.replace(/^\//, ''));
  if (exact !== undefined) return exact;
  if (matches.length === 0) throw notFound(`no such container: ${text}`);
  if (matches.length > 1) throw invalidArgument(`"${text}" is the start of ${matches.length} container ids: give more of it`);
  return matches[0]!;
}

/** A container of this node: the only ones this agent can act on. */
export async function findLocalContainer(context: RuntimeContext, text: string): Promise<Container> {
  const container = await findContainer(context, text);
  if (container.node !== context.node) {
    throw failedPrecondition(`container ${container.name} is on node ${container.node}, not on ${context.node}: ask that node's agent`);
  }
  return container;
}

/** Fails with FAILED_PRECONDITION naming the state when a verb does not fit it. */
export function requireState(container: Container, verb: string, allowed: readonly ContainerState[]): void {
  if (!allowed.includes(container.state)) {
    throw failedPrecondition(`cannot ${verb} container ${container.name}: it is ${container.state}`);
  }
}
