import { readFileSync } from 'node:fs';
import { failedPrecondition } from '../../libs/errors';

/** A system user's uid and gid, from /etc/passwd. */
export function systemUser(name: string): { uid: number; gid: number } {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name) return { uid: Number(fields[2]), gid: Number(fields[3]) };
  }
  throw failedPrecondition(`no user "${name}" on this host: install Debian's postgresql package (deploy/setup.sh does), or set embedded.postgresUser`);
}
