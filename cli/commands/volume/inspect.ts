import { invalidArgument, isBerthError, messageOf } from '../../../libs/errors';
import type { volume } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { volumeService } from '../../client';
import { printInspected } from '../../output';

/**
 * `berth volume inspect [-f TEMPLATE] VOLUME...`: a JSON array in Docker's shape; an unknown name is
 * reported and the known ones still printed, with exit 1, as Docker does.
 */
export async function inspectVolumes(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { format: { type: 'string', short: 'f' } }, 'volume inspect');
  if (positionals.length === 0) throw invalidArgument('volume inspect: give at least one volume');
  const service = volumeService();
  const found: unknown[] = [];
  let failed = false;
  try {
    for (const name of positionals) {
      try {
        const response = await service.call<volume.InspectResponse>((m, o, cb) => service.client.inspect({ name }, m, o, cb));
        found.push(dockerVolume(response.volume!));
      } catch (err) {
        process.stderr.write(isBerthError(err, 'not_found') ? `Error: No such volume: ${name}\n` : `berth: ${messageOf(err)}\n`);
        failed = true;
      }
    }
  } finally {
    service.close();
  }
  printInspected(found, values.format);
  return failed ? 1 : 0;
}

/** A volume as `docker volume inspect` shows it, with its usage and users (Berth's additions). */
function dockerVolume(v: volume.Volume): Record<string, unknown> {
  const orNull = (map: Record<string, string>) => (Object.keys(map).length === 0 ? null : map);
  return {
    // Go's RFC 3339, to the second, as Docker prints it.
    CreatedAt: v.created?.toISOString().replace(/\.\d+Z$/, 'Z'),
    Driver: v.driver,
    Labels: orNull(v.labels),
    Mountpoint: v.mountpoint,
    Name: v.name,
    Options: orNull(v.options),
    Scope: v.scope,
    UsageData: { Size: v.sizeBytes, RefCount: v.users.length },
    Users: v.users.map((u) => ({ ContainerID: u.containerId, Mounted: u.mounted })),
  };
}
