import { createReadStream } from 'node:fs';
import { invalidArgument } from '../../../libs/errors';
import { RegistryClient, type Credentials } from '../registry/client';
import { loadImage, resolveImage } from './catalog';
import { forEachLimit } from './concurrency';
import { shortId, type ImageContext, type ProgressSink } from './context';
import { formatReference, parseReference, repositoryName } from '../../../libs/reference';

export interface PushRequest {
  reference: string;
  credentials?: Credentials;
}

const CONCURRENT_UPLOADS = 5;

/**
 * Pushes a tagged image to the registry its name says: each blob the registry lacks is mounted from
 * another repository of the same registry that has it (one the image was pulled from or pushed to)
 * or uploaded; then the manifest is put under the tag. Records the digest as a repo digest and the
 * `push` event.
 */
export async function pushImage(context: ImageContext, request: PushRequest, progress: ProgressSink): Promise<{ digest: string; size: number }> {
  const reference = parseReference(request.reference);
  if (reference.digest !== undefined) throw invalidArgument(`cannot push by digest: name a tag (${request.reference})`);
  const name = formatReference(reference);
  const { image } = await resolveImage(context, name);
  const { manifest, manifestBytes, manifestMediaType } = await loadImage(context, image);
  const client = new RegistryClient({ registry: reference.domain, credentials: request.credentials, insecureRegistries: context.insecureRegistries, timeoutMs: context.registryTimeoutMs });
  const repository = reference.path;
  progress({ id: '', status: `The push refers to repository [${repositoryName(reference)}]` });

  const mountSources = image.repoDigests
    .map((repoDigest) => repoDigest.slice(0, repoDigest.indexOf('@')))
    .filter((source) => source.startsWith(`${reference.domain}/`) && source !== repositoryName(reference))
    .map((source) => source.slice(reference.domain.length + 1));

  await forEachLimit([manifest.config, ...manifest.layers], CONCURRENT_UPLOADS, async (blob) => {
    const id = shortId(blob.digest);
    const isLayer = blob !== manifest.config;
    if (isLayer) progress({ id, status: 'Preparing' });
    if (await client.hasBlob(repository, blob.digest)) {
      if (isLayer) progress({ id, status: 'Layer already exists' });
      return;
    }
    for (const source of mountSources) {
      if (await client.mountBlob(repository, blob.digest, source)) {
        if (isLayer) progress({ id, status: `Mounted from ${source}` });
        return;
      }
    }
    if (isLayer) progress({ id, status: 'Pushing', current: 0, total: blob.size });
    await client.putBlob(repository, blob.digest, blob.size, () => {
      const reader = createReadStream(context.content.path(blob.digest));
      let sent = 0;
      reader.on('data', (chunk) => {
        sent += chunk.length;
        if (isLayer) progress({ id, status: 'Pushing', current: sent, total: blob.size });
      });
      return reader;
    });
    if (isLayer) progress({ id, status: 'Pushed' });
  });

  await client.putManifest(repository, reference.tag!, manifestMediaType, manifestBytes);
  await context.db.transaction(async (client) => {
    await context.repository.addRepoDigest(client, repositoryName(reference), image.manifestDigest, image.id);
    await context.events.append(client, { type: 'image', action: 'push', actorId: name, attributes: { name, digest: image.manifestDigest } });
  });
  progress({ id: '', status: `${reference.tag}: digest: ${image.manifestDigest} size: ${manifestBytes.length}` });
  return { digest: image.manifestDigest, size: manifestBytes.length };
}
