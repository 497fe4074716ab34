import type { BerthClient } from '../../../client';
import { invalidArgument, messageOf } from '../../../libs/errors';
import { imagestore } from '../../../libs/proto';
import { familiarName } from '../../../libs/reference';
import { API_VERSION, filters, flag, sendJson, type Router } from '../http/router';

/** /images/...: Docker's image verbs over the image-store. */
export function imageRoutes(router: Router, berth: BerthClient): void {
  const { images } = berth;

  router.on('GET', '/images/json', async ({ query, response }) => {
    const listed = await images.call('list', { filters: filters(query), all: flag(query, 'all') });
    sendJson(
      response,
      200,
      listed.images.map((image) => ({
        Id: image.id,
        ParentId: '',
        // As Docker shows them: busybox:latest, not docker.io/library/busybox:latest.
        RepoTags: image.repoTags.map(familiarName),
        RepoDigests: image.repoDigests,
        Created: Math.floor((image.created?.getTime() ?? 0) / 1000),
        Size: image.size,
        SharedSize: -1,
        VirtualSize: image.size,
        Labels: image.labels,
        Containers: image.containers,
      })),
    );
  });

  router.on('POST', '/images/create', async ({ request, query, response }) => {
    const from = query.get('fromImage') ?? '';
    if (from === '') throw invalidArgument(query.get('fromSrc') !== null ? 'importing with fromSrc is not supported by Berth: use `berth import`' : 'fromImage is required');
    const tag = query.get('tag') ?? '';
    const reference = tag === '' ? from : /^sha256:/.test(tag) ? `${from}@${tag}` : `${from}:${tag}`;
    const auth = registryAuth(request.headers['x-registry-auth']);
    response.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION });
    response.flushHeaders();
    // Progress as Docker's JSON messages; a failure after the start is the stream's last message, as Docker's.
    try {
      for await (const message of images.stream('pull', { reference, platform: query.get('platform') ?? '', auth })) {
        if (message.progress !== undefined) response.write(progressLine(message.progress));
        if (message.image !== undefined) {
          const digest = message.image.repoDigests[0]?.split('@')[1];
          if (digest !== undefined) response.write(`${JSON.stringify({ status: `Digest: ${digest}` })}\n`);
          response.write(`${JSON.stringify({ status: `Status: Downloaded image for ${familiarName(message.image.repoTags[0] ?? reference)}` })}\n`);
        }
      }
    } catch (err) {
      response.write(`${JSON.stringify({ errorDetail: { message: messageOf(err) }, error: messageOf(err) })}\n`);
    }
    response.end();
  });

  router.on('GET', '/images/{name*}/history', async ({ params, response }) => {
    const { entries } = await images.call('history', { image: params.name! });
    sendJson(
      response,
      200,
      entries.map((entry) => ({
        Id: entry.id || '<missing>',
        Created: Math.floor((entry.created?.getTime() ?? 0) / 1000),
        CreatedBy: entry.createdBy,
        Tags: null,
        Size: entry.size,
        Comment: entry.comment,
      })),
    );
  });

  router.on('POST', '/images/prune', async ({ query, response }) => {
    const given = filters(query);
    // dangling=false is Docker's way of asking for every unused image.
    const all = given.dangling?.values.some((value) => value === 'false' || value === '0') ?? false;
    delete given.dangling;
    const { deleted, spaceReclaimed } = await images.call('prune', { filters: given, all });
    sendJson(response, 200, { ImagesDeleted: deleted.map((Deleted) => ({ Deleted })), SpaceReclaimed: spaceReclaimed });
  });

  router.on('GET', '/images/{name*}/json', async ({ params, response }) => {
    const { image } = await images.call('inspect', { image: params.name! });
    sendJson(response, 200, imagestore.ImageDetail.toJSON(image!));
  });

  router.on('POST', '/images/{name*}/tag', async ({ params, query, response }) => {
    const repo = query.get('repo') ?? '';
    if (repo === '') throw invalidArgument('repo is required');
    const tag = query.get('tag') ?? '';
    await images.call('tag', { source: params.name!, target: tag === '' ? repo : `${repo}:${tag}` });
    sendJson(response, 201, {});
  });

  router.on('DELETE', '/images/{name*}', async ({ params, query, response }) => {
    const removed = await images.call('remove', { image: params.name!, force: flag(query, 'force'), noPrune: flag(query, 'noprune') });
    sendJson(response, 200, [...removed.untagged.map((Untagged) => ({ Untagged })), ...removed.deleted.map((Deleted) => ({ Deleted }))]);
  });
}

/** Docker's X-Registry-Auth: base64url JSON of the credentials for this one pull. */
function registryAuth(header: string | string[] | undefined): imagestore.RegistryAuth | undefined {
  if (typeof header !== 'string' || header === '') return undefined;
  let parsed: { username?: string; password?: string; identitytoken?: string };
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    throw invalidArgument('X-Registry-Auth is not base64 JSON');
  }
  if (!parsed.username && !parsed.identitytoken) return undefined;
  return { username: parsed.username ?? '', password: parsed.password ?? '', identityToken: parsed.identitytoken ?? '' };
}

function progressLine(progress: imagestore.Progress): string {
  const detail = progress.total > 0 ? { progressDetail: { current: progress.current, total: progress.total } } : { progressDetail: {} };
  return `${JSON.stringify({ status: progress.status, ...(progress.id === '' ? {} : { id: progress.id }), ...detail })}\n`;
}
