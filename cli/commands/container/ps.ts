import { runtime } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { runtimeAgent } from '../../client';
import { parseFilters, table, timeAgo } from '../../output';
import { renderTemplate } from '../../template';
import { displayablePorts } from '../../../libs/docker';

/** `berth ps [-a] [-q] [--no-trunc] [--filter k=v] [--format table|json|TEMPLATE]` */
export async function ps(args: string[]): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      all: { type: 'boolean', short: 'a', default: false, description: 'Show all containers (default only running ones)' },
      quiet: { type: 'boolean', short: 'q', default: false, description: 'Only print container ids' },
      'no-trunc': { type: 'boolean', default: false, description: 'Do not truncate ids and commands' },
      latest: { type: 'boolean', short: 'l', default: false, description: 'Show only the latest created container, in any state' },
      filter: { type: 'string', short: 'f', multiple: true, value: 'KEY=VALUE', description: 'Filter by id, name, label, status, ancestor, exited, health, node, network, before or since' },
      format: { type: 'string', default: 'table', value: 'FORMAT', description: 'Output format: table, json (one object a line) or a Go template such as {{.Names}}' },
    },
    'ps',
  );
  const agent = runtimeAgent();
  let containers: runtime.ContainerSummary[];
  try {
    const response = await agent.call<runtime.ListResponse>((m, o, cb) =>
      agent.client.list({ all: values.all || values.latest, filters: parseFilters(values.filter) }, m, o, cb),
    );
    containers = values.latest ? response.containers.slice(0, 1) : response.containers;
  } finally {
    agent.close();
  }
  const id = (c: runtime.ContainerSummary) => (values['no-trunc'] ? c.id : c.id.slice(0, 12));
  if (values.quiet) {
    process.stdout.write(containers.map((c) => `${id(c)}\n`).join(''));
    return 0;
  }
  if (values.format === 'json') {
    process.stdout.write(containers.map((c) => `${JSON.stringify(dockerFields(c, id(c)))}\n`).join(''));
    return 0;
  }
  if (values.format !== 'table') {
    process.stdout.write(containers.map((c) => `${renderTemplate(values.format, dockerFields(c, id(c)))}\n`).join(''));
    return 0;
  }
  const command = (text: string) => `"${values['no-trunc'] || text.length <= 20 ? text : `${text.slice(0, 19)}…`}"`;
  process.stdout.write(
    table(
      ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
      containers.map((c) => [id(c), c.image, command(c.command), timeAgo(c.created), c.status, displayablePorts(c.ports), c.name]),
    ),
  );
  return 0;
}

/** The fields `docker ps --format` knows. */
function dockerFields(c: runtime.ContainerSummary, id: string) {
  return {
    ID: id,
    Image: c.image,
    Command: c.command,
    CreatedAt: c.created?.toISOString(),
    RunningFor: timeAgo(c.created).replace(/ ago$/, ''),
    Status: c.status,
    State: c.state,
    Names: c.name,
    Labels: Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(','),
    Ports: displayablePorts(c.ports),
    Networks: c.networks.join(','),
    Node: c.node,
  };
}
