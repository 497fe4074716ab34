import { posix } from 'node:path';
import { extract, type Header } from 'tar-stream';
import type { BerthClient } from '../../../client';
import { invalidArgument } from '../../../libs/errors';
import { peekFirst } from '../../../libs/grpc';
import type { runtime } from '../../../libs/proto';
import { flag, sendJson, sendNoContent, type Router } from '../http/router';
import { clientGone, sendTar, tarBody, upload } from '../http/transfer';
import { isSet } from './create-body';

/** A container's files: export, commit to an image, and docker cp's archive (stat, copy out, copy in). */
export function filesystemRoutes(router: Router, berth: BerthClient): void {
  const { runtime: agent } = berth;

  router.on('POST', '/commit', async ({ query, json, response }) => {
    const container = query.get('container') ?? '';
    if (container === '') throw invalidArgument('container is required');
    // Docker's clients send no config (or an empty one): what the image's config should change comes as changes.
    if (isSet(await json<Record<string, unknown>>())) throw invalidArgument('a container config in the commit body is not supported by Berth: give Dockerfile instructions as changes (--change)');
    const repo = query.get('repo') ?? '';
    const tag = query.get('tag') ?? '';
    const { imageId } = await agent.call(
      'commit',
      {
        container,
        reference: repo === '' ? '' : tag === '' ? repo : `${repo}:${tag}`,
        comment: query.get('comment') ?? '',
        author: query.get('author') ?? '',
        changes: query.getAll('changes').filter((change) => change !== ''),
        // Docker pauses unless told not to (pause=0).
        noPause: query.get('pause') !== null && !flag(query, 'pause'),
        uncompressed: false,
        remove: false,
      },
      { deadline: new Date(Date.now() + 3600_000) },
    );
    sendJson(response, 201, { Id: imageId });
  });

  router.on('GET', '/containers/{id}/export', async ({ params, response }) => {
    await sendTar(response, agent.stream('export', { container: params.id! }, { signal: clientGone(response) }));
  });

  // GET copies out (a tar, with a stat of its root in a header); HEAD only stats, as docker cp asks first.
  router.on('GET', '/containers/{id}/archive', async ({ request, params, query, response }) => {
    const path = requiredPath(query);
    const stat = { 'X-Docker-Container-Path-Stat': Buffer.from(JSON.stringify(await pathStat(berth, params.id!, path))).toString('base64') };
    if (request.method === 'HEAD') {
      response.writeHead(200, { 'Content-Type': 'application/x-tar', ...stat });
      response.end();
      return;
    }
    await sendTar(response, agent.stream('copyFrom', { container: params.id!, path }, { signal: clientGone(response) }), stat);
  });

  router.on('PUT', '/containers/{id}/archive', async ({ request, params, query, response }) => {
    const path = requiredPath(query);
    // Berth keeps the tar's owners (Docker's default); -a would give everything to the container's user.
    if (flag(query, 'copyUIDGID')) throw invalidArgument('copying with the container user\'s ownership (docker cp -a) is not supported by Berth');
    await upload<runtime.CopyToRequest, runtime.CopyToResponse>(
      agent.endpoint,
      (callback) => agent.client.copyTo({ deadline: Infinity }, callback),
      tarBody(request),
      (data, first) => (first ? { container: params.id!, path, data } : { container: '', path: '', data }),
    );
    sendNoContent(response, 200);
  });
}

function requiredPath(query: URLSearchParams): string {
  const path = query.get('path') ?? '';
  if (path === '') throw invalidArgument('path is required');
  return path;
}

/**
 * Docker's stat of a path in a container (name, size, Go's file mode, mtime, link target), read from
 * the first header of the tar the agent makes of it, which is the path itself; only that much of the
 * tar is read. A directory's contents ("dir/.") are stat'ed as the directory.
 */
async function pathStat(berth: BerthClient, container: string, path: string): Promise<Record<string, unknown>> {
  const contents = /(^|\/)\.$/.exec(path) !== null;
  const statted = contents ? path.replace(/\/?\.$/, '') || '/' : path;
  const name = posix.basename(posix.normalize(`/${statted}`)) || '/';
  const reading = new AbortController();
  let header: Header | undefined;
  try {
    const { first } = await peekFirst(berth.runtime.stream('copyFrom', { container, path: statted }, { signal: reading.signal }));
    // The root's tar holds its contents only: no entry is the root itself.
    header = first === undefined || name === '/' ? undefined : await firstHeader(Buffer.from(first.data));
  } finally {
    reading.abort();
  }
  if (header === undefined) return { name, size: 0, mode: GO_MODE.dir + 0o755, mtime: new Date(0).toISOString(), linkTarget: '' };
  return { name, size: header.size ?? 0, mode: goFileMode(header), mtime: (header.mtime ?? new Date(0)).toISOString(), linkTarget: header.linkname ?? '' };
}

function firstHeader(tar: Buffer): Promise<Header | undefined> {
  return new Promise((resolve, reject) => {
    const reader = extract();
    reader.once('entry', (header) => {
      resolve(header);
      reader.destroy();
    });
    reader.once('finish', () => resolve(undefined));
    reader.once('error', reject);
    reader.end(tar);
  });
}

/** Go's os.FileMode type bits, which Docker's clients read (IsDir, symlinks). */
const GO_MODE = { dir: 2 ** 31, symlink: 2 ** 27, device: 2 ** 26, pipe: 2 ** 25, charDevice: 2 ** 21, setuid: 2 ** 23, setgid: 2 ** 22, sticky: 2 ** 20 };

function goFileMode(header: Header): number {
  const unix = header.mode ?? 0;
  const types: Record<string, number> = { directory: GO_MODE.dir, symlink: GO_MODE.symlink, 'block-device': GO_MODE.device, 'character-device': GO_MODE.device + GO_MODE.charDevice, fifo: GO_MODE.pipe };
  const type = types[header.type ?? 'file'] ?? 0;
  const special = (unix & 0o4000 ? GO_MODE.setuid : 0) + (unix & 0o2000 ? GO_MODE.setgid : 0) + (unix & 0o1000 ? GO_MODE.sticky : 0);
  return type + special + (unix & 0o777);
}
