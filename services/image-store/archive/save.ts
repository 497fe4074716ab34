import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { familiarName, parseReference } from '../../../libs/reference';
import { loadImage, resolveImage } from '../images/catalog';
import type { ImageContext } from '../images/context';
import { MEDIA_TYPES } from '../images/manifest';

/**
 * `docker save`: the images as one tar, in Docker 25's layout: an OCI image layout (oci-layout,
 * index.json, blobs/sha256/...) with Docker's manifest.json beside it, so that `docker load`,
 * skopeo (oci-archive:) and Load all read it. Layers are stored as they are (compressed).
 */
export async function saveImages(context: ImageContext, names: string[]): Promise<{ archive: Readable; imageIds: string[] }> {
  const entries: Array<{ id: string; descriptor: object; docker: object; blobs: string[] }> = [];
  for (const name of names) {
    const { image, reference } = await resolveImage(context, name);
    const { manifest, manifestMediaType, manifestBytes } = await loadImage(context, image);
    const tags = reference !== undefined ? [reference] : image.tags;
    const blob = (digest: string) => `blobs/sha256/${digest.slice(7)}`;
    entries.push({
      id: image.id,
      descriptor: {
        mediaType: manifestMediaType,
        digest: image.manifestDigest,
        size: manifestBytes.length,
        annotations: tags[0] === undefined ? {} : { 'io.containerd.image.name': tags[0], 'org.opencontainers.image.ref.name': parseReference(tags[0]).tag },
      },
      docker: { Config: blob(image.id), RepoTags: tags.map(familiarName), Layers: manifest.layers.map((l) => blob(l.digest)) },
      blobs: [image.manifestDigest, image.id, ...manifest.layers.map((l) => l.digest)],
    });
  }

  const archive = pack();
  const written = new Set<string>();
  void (async () => {
    try {
      const add = (name: string, data: Buffer) => new Promise<void>((resolve, reject) => archive.entry({ name, mode: 0o644, mtime: new Date(0) }, data, (err) => (err ? reject(err) : resolve())));
      await add('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
      await add('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: entries.map((e) => e.descriptor) })));
      await add('manifest.json', Buffer.from(JSON.stringify(entries.map((e) => e.docker))));
      for (const digest of entries.flatMap((e) => e.blobs)) {
        if (written.has(digest)) continue;
        written.add(digest);
        const { stream, size } = await context.content.read(digest);
        await new Promise<void>((resolve, reject) => {
          const entry = archive.entry({ name: `blobs/sha256/${digest.slice(7)}`, size, mode: 0o644, mtime: new Date(0) }, (err) => (err ? reject(err) : resolve()));
          stream.pipe(entry);
          stream.once('error', reject);
        });
      }
      archive.finalize();
    } catch (err) {
      archive.destroy(err as Error);
    }
  })();
  return { archive: archive as unknown as Readable, imageIds: [...new Set(entries.map((e) => e.id))] };
}
