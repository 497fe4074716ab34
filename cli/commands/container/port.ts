import { invalidArgument, notFound } from '../../../libs/errors';
import type { runtime } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { runtimeAgent } from '../../client';
import { publishedPortLines } from '../../../libs/docker';
import { parsePrivatePort } from './publish-flags';

/** `berth port CONTAINER [PRIVATE_PORT[/PROTOCOL]]`: where the container's published ports are reached on the host. */
export async function port(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, {}, 'port');
  if (positionals.length < 1 || positionals.length > 2) throw invalidArgument('port: give a container and, optionally, PRIVATE_PORT[/PROTOCOL]');
  const [container, privatePort] = positionals as [string, string?];
  const key = privatePort === undefined ? undefined : parsePrivatePort(privatePort);
  const agent = runtimeAgent();
  let detail: runtime.ContainerDetail;
  try {
    detail = (await agent.call<runtime.InspectResponse>((m, o, cb) => agent.client.inspect({ container }, m, o, cb))).container!;
  } finally {
    agent.close();
  }
  const lines = publishedPortLines(detail.ports, key);
  // Not a usage error: the container exists but has nothing there, and Docker exits 1 for it.
  if (key !== undefined && lines.length === 0) throw notFound(`no public port '${key}' published for ${container}`);
  process.stdout.write(lines.map((line) => `${line}\n`).join(''));
  return 0;
}
