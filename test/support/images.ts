import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

/** A file of a test layer: regular file, directory or symlink. */
export type LayerEntry =
  | { path: string; type: 'file'; content: Buffer | string; mode?: number }
  | { path: string; type: 'directory'; mode?: number }
  | { path: string; type: 'symlink'; target: string };

export interface BuiltLayer {
  /** The gzip blob's digest (what manifests name). */
  digest: string;
  /** The uncompressed tar's digest (what configs name). */
  diffId: string;
  blob: Buffer;
}

export interface TestPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

const BUSYBOX_APPLETS = [
  'mount',
  'sh', 'true', 'false', 'echo', 'cat', 'ls', 'sleep', 'env', 'id', 'mkdir', 'rm', 'touch', 'hostname', 'ps', 'dd', 'head', 'kill', 'test', 'wc', 'tail', 'tr',
];

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A gzip layer made of the given entries, in order, with fixed times (so equal content, equal digest). */
export async function buildLayer(entries: LayerEntry[]): Promise<BuiltLayer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve) => archive.on('end', () => resolve()));
  const mtime = new Date(0);
  for (const entry of entries) {
    if (entry.type === 'file') {
      const content = Buffer.from(entry.content);
      archive.entry({ name: entry.path, type: 'file', mode: entry.mode ?? 0o644, mtime, size: content.length }, content);
    } else if (entry.type === 'directory') {
      archive.entry({ name: entry.path, type: 'directory', mode: entry.mode ?? 0o755, mtime });
    } else {
      archive.entry({ name: entry.path, type: 'symlink', linkname: entry.target, mode: 0o777, mtime });
    }
  }
  archive.finalize();
  await done;
  const tar = Buffer.concat(chunks);
  const blob = gzipSync(tar);
  return { digest: sha256(blob), diffId: sha256(tar), blob };
}

/** Busybox (Debian's busybox-static) with a few applets linked in /bin: a base layer that can run. */
export function busyboxLayer(): Promise<BuiltLayer> {
  return buildLayer([
    { path: 'bin', type: 'directory' },
    { path: 'bin/busybox', type: 'file', content: readFileSync('/bin/busybox'), mode: 0o755 },
    ...BUSYBOX_APPLETS.map((applet): LayerEntry => ({ path: `bin/${applet}`, type: 'symlink', target: 'busybox' })),
    { path: 'etc', type: 'directory' },
    { path: 'etc/passwd', type: 'file', content: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n') },
    { path: 'etc/group', type: 'file', content: Buffer.from('root:x:0:\nnogroup:x:65534:\n') },
    { path: 'tmp', type: 'directory', mode: 0o1777 },
  ]);
}

export interface TestImage {
  platform: TestPlatform;
  layers: BuiltLayer[];
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
}

/** An image for one platform: the busybox layer plus a small layer of its own (unique unless given a seed). */
export async function buildImage(platform: TestPlatform, options: { seed?: string; extraLayers?: LayerEntry[][] } = {}): Promise<TestImage> {
  const seed = options.seed ?? randomBytes(8).toString('hex');
  const layers = [
    await busyboxLayer(),
    await buildLayer([
      { path: 'etc', type: 'directory' },
      { path: 'etc/test-image', type: 'file', content: `${platform.os}/${platform.architecture} ${seed}\n` },
    ]),
    ...(await Promise.all((options.extraLayers ?? []).map(buildLayer))),
  ];
  const config = Buffer.from(
    JSON.stringify({
      created: '2026-01-02T03:04:05Z',
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: { Env: ['PATH=/bin'], Cmd: ['sh'], Labels: { 'org.berth.test': seed } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created: '2026-01-02T03:04:05Z', created_by: `test layer ${i}` })),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.blob.length })),
    }),
  );
  return { platform, layers, config, configDigest: sha256(config), manifest, manifestDigest: sha256(manifest) };
}

/**
 * Writes an OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
 * holding the images under one tag: one image as its manifest, several as an index of them.
 * Returns the digest the tag names.
 */
export function writeOciLayout(dir: string, tag: string, images: TestImage[]): string {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const writeBlob = (data: Buffer) => {
    const digest = sha256(data);
    writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), data);
    return digest;
  };
  for (const image of images) {
    for (const layer of image.layers) writeBlob(layer.blob);
    writeBlob(image.config);
    writeBlob(image.manifest);
  }
  let top: { mediaType: string; digest: string; size: number };
  if (images.length === 1) {
    top = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: images[0]!.manifestDigest, size: images[0]!.manifest.length };
  } else {
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: images.map((image) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: image.manifestDigest,
          size: image.manifest.length,
          platform: image.platform,
        })),
      }),
    );
    top = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: writeBlob(index), size: index.length };
  }
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }] }),
  );
  return top.digest;
}
