import { invalidArgument } from '../../../libs/errors';
import { checkFilterKeys, matchesLabel } from '../../../libs/filters';
import { humanDuration } from '../../../libs/humanize';
import type { RuntimeContext } from './context';
import type { Container } from './model';

export type ContainerFilters = Record<string, string[]>;

const FILTER_KEYS = ['id', 'name', 'label', 'status', 'ancestor', 'exited', 'health', 'node', 'network', 'before', 'since'];

/** `docker ps`: running containers, or all; filtered as Docker filters. */
export async function listContainers(context: RuntimeContext, options: { all: boolean; filters: ContainerFilters }): Promise<Container[]> {
  checkFilterKeys(options.filters, FILTER_KEYS);
  const containers = await context.repository.list();
  const byAnchor = (key: 'before' | 'since') =>
    options.filters[key]?.map((text) => containers.find((c) => c.id.startsWith(text) || c.name === text)?.createdAt ?? invalidFilter(key, text));
  const before = byAnchor('before');
  const since = byAnchor('since');
  const all = options.all || options.filters.status !== undefined || options.filters.exited !== undefined;
  const onNetwork = options.filters.network === undefined ? undefined : await networksOf(context, containers);
  return containers.filter((container) => {
    if (!all && container.state !== 'running' && container.state !== 'paused' && container.state !== 'restarting') return false;
    const anyOf = (key: string, test: (value: string) => boolean) => options.filters[key] === undefined || options.filters[key]!.some(test);
    return (
      anyOf('id', (v) => container.id.startsWith(v)) &&
      anyOf('name', (v) => container.name.includes(v.replace(/^\//, ''))) &&
      anyOf('status', (v) => container.state === v) &&
      anyOf('ancestor', (v) => container.imageName === v || container.imageId === v || container.imageId.replace(/^sha256:/, '').startsWith(v)) &&
      anyOf('exited', (v) => container.state === 'exited' && container.exitCode === Number(v)) &&
      anyOf('health', (v) => (container.health?.status ?? 'none') === v) &&
      anyOf('node', (v) => container.node === v) &&
      anyOf('network', (v) => (onNetwork?.get(container.id) ?? []).some((network) => network.name === v || network.id.startsWith(v))) &&
      (options.filters.label ?? []).every((v) => matchesLabel(container.spec.labels, v)) &&
      (before ?? []).every((t) => container.createdAt < t) &&
      (since ?? []).every((t) => container.createdAt > t)
    );
  });
}

/** The networks each container is on (by name and id), for the network filter. */
async function networksOf(context: RuntimeContext, containers: Container[]): Promise<Map<string, Array<{ name: string; id: string }>>> {
  const attachments = await context.networks.attachmentsOf(containers.map((container) => container.id));
  return new Map([...attachments].map(([id, attached]) => [id, attached.endpoints.map((endpoint) => ({ name: endpoint.network.name, id: endpoint.network.id }))]));
}

function invalidFilter(key: string, value: string): never {
  throw invalidArgument(`filter ${key}=${value}: no such container`);
}


/** Docker's status column: "Up 5 minutes (healthy)", "Exited (0) 2 seconds ago", "Created". */
export function statusLine(container: Container, now = Date.now()): string {
  const since = (date: Date | null) => humanDuration(Math.max(0, (now - (date?.getTime() ?? now)) / 1000));
  switch (container.state) {
    case 'running':
      return `Up ${since(container.startedAt)}${container.health !== null ? ` (${container.health.status === 'starting' ? 'health: starting' : container.health.status})` : ''}`;
    case 'paused':
      return `Up ${since(container.startedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${container.exitCode}) ${since(container.finishedAt)} ago`;
    case 'exited':
      return `Exited (${container.exitCode}) ${since(container.finishedAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}
