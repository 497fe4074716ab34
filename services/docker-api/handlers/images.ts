import type { BerthClient } from '../../../client';
import { invalidArgument } from '../../../libs/errors';
import { imagestore } from '../../../libs/proto';
import { familiarName } from '../../../libs/reference';
import { filters, flag, sendJson, type Router } from '../http/router';

/** /images/...: Docker's image verbs over the image-store (pull, push, save and load are in image-transfer.ts). */
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
