import type { BerthClient } from '../../../client';
import { dockerVolume } from '../../../libs/docker';
import { filters, flag, sendJson, sendNoContent, type Router } from '../http/router';

/** /volumes/...: Docker's volume verbs over the volume service. */
export function volumeRoutes(router: Router, berth: BerthClient): void {
  const { volumes } = berth;

  router.on('GET', '/volumes', async ({ query, response }) => {
    const listed = await volumes.call('list', { filters: filters(query) });
    sendJson(response, 200, { Volumes: listed.volumes.map(dockerVolume), Warnings: [] });
  });

  router.on('POST', '/volumes/create', async ({ json, response }) => {
    const body = await json<{ Name?: string; Driver?: string; DriverOpts?: Record<string, string> | null; Labels?: Record<string, string> | null }>();
    const created = await volumes.call('create', { name: body.Name ?? '', driver: body.Driver ?? '', options: body.DriverOpts ?? {}, labels: body.Labels ?? {}, anonymous: false });
    sendJson(response, 201, dockerVolume(created.volume!));
  });

  router.on('GET', '/volumes/{name}', async ({ params, response }) => {
    const { volume } = await volumes.call('inspect', { name: params.name! });
    sendJson(response, 200, dockerVolume(volume!));
  });

  router.on('DELETE', '/volumes/{name}', async ({ params, query, response }) => {
    await volumes.call('remove', { name: params.name!, force: flag(query, 'force') });
    sendNoContent(response);
  });

  router.on('POST', '/volumes/prune', async ({ query, response }) => {
    const given = filters(query);
    // API 1.42's all=true filter takes named volumes too.
    const all = given.all?.values.some((value) => value === 'true' || value === '1') ?? false;
    delete given.all;
    const { deleted, spaceReclaimed } = await volumes.call('prune', { all, filters: given });
    sendJson(response, 200, { VolumesDeleted: deleted, SpaceReclaimed: spaceReclaimed });
  });
}
