import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../../../libs/errors';

export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

/**
 * A user as Docker takes it ("name", "uid", "name:group", "uid:gid") resolved against the
 * container's own /etc/passwd and /etc/group. Those files are read only when they are plain files
 * in a plain /etc: a symlink there could point at the host's files (CVE-2024-9676).
 */
export async function resolveUser(rootfs: string, user: string): Promise<ProcessUser> {
  const [userPart = '', groupPart] = user.split(':', 2);
  const passwd = userPart === '' || /^\d+$/.test(userPart) && groupPart !== undefined ? [] : await readTable(rootfs, 'passwd');
  let uid = 0;
  let gid = 0;
  let name: string | undefined;
  if (userPart === '') {
    name = 'root';
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd.find((fields) => fields[2] === userPart);
    name = entry?.[0];
    gid = entry !== undefined ? Number(entry[3]) : 0;
  } else {
    const entry = passwd.find((fields) => fields[0] === userPart);
    if (entry === undefined) throw invalidArgument(`unable to find user ${userPart}: no matching entries in the container's /etc/passwd`);
    name = userPart;
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  const groups = await readTable(rootfs, 'group');
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const group = groups.find((fields) => fields[0] === groupPart);
      if (group === undefined) throw invalidArgument(`unable to find group ${groupPart}: no matching entries in the container's /etc/group`);
      gid = Number(group[2]);
    }
  }
  const additionalGids = name === undefined ? [] : groups.filter((g) => (g[3] ?? '').split(',').includes(name!)).map((g) => Number(g[2])).filter((g) => g !== gid);
  return { uid, gid, additionalGids };
}

async function readTable(rootfs: string, file: 'passwd' | 'group'): Promise<string[][]> {
  const etc = join(rootfs, 'etc');
  const path = join(etc, file);
  try {
    if ((await lstat(etc)).isSymbolicLink() || !(await lstat(path)).isFile()) return [];
    const text = await readFile(path, 'utf8');
    return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => line.split(':'));
  } catch {
    return [];
  }
}
