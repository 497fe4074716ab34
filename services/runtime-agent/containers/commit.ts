import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { applyChanges } from '../../../libs/image-config';
import type { imagestore } from '../../../libs/proto';
import { failedPrecondition } from '../../../libs/errors';
import { chainIds } from '../layers';
import { unmountOverlay, writeLayerTar } from '../rootfs';
import type { RuntimeContext } from './context';
import { recordEvent } from './events';
import { findLocalContainer } from './lookup';
import { withLayersPinned } from './layer-gc';
import { ACTIVE_STATES, type Container } from './model';
import { removeContainer } from './remove';
import { containerPaths } from './paths';

const LAYER_MEDIA_TYPES = { gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', plain: 'application/vnd.oci.image.layer.v1.tar' };

export interface CommitOptions {
  /** A name for the new image; none leaves it untagged, as in Docker. */
  reference: string;
  comment: string;
  author: string;
  /** Dockerfile instructions applied to the config (`--change`). */
  changes: string[];
  /** Freeze the container while its layer is read (Docker's default), so the layer is consistent. */
  pause: boolean;
  /** Keep the layer a plain tar (quicker to make) instead of gzip. */
  uncompressed: boolean;
  /** Remove the (not running) container afterwards, its upper directory kept as the new layer. */
  remove: boolean;
}

/**
 * `docker commit`: the container's writable layer becomes a new layer on top of its image's, and its
 * run settings the new image's config, stored in the image-store; a commit event follows.
 */
export async function commitContainer(context: RuntimeContext, text: string, options: CommitOptions): Promise<imagestore.PutImageResponse> {
  const container = await findLocalContainer(context, text);
  if (options.remove && ACTIVE_STATES.includes(container.state)) {
    throw failedPrecondition(`cannot commit and remove container ${container.name}: it is ${container.state}; stop it first`);
  }
  const base = await context.images.resolve(container.imageId);
  const paths = containerPaths(context.stateDir, container.id);
  const pause = options.pause && container.state === 'running';
  if (pause) await context.runtime.pause(container.id);
  let layer: { digest: string; diffId: string; size: number };
  const file = join(paths.dir, 'commit.tar');
  const mediaType = options.uncompressed ? LAYER_MEDIA_TYPES.plain : LAYER_MEDIA_TYPES.gzip;
  try {
    layer = await packLayer(paths.overlay.upper, file, !options.uncompressed);
  } finally {
    if (pause) await context.runtime.resume(container.id);
  }
  try {
    await context.images.writeBlob(file, layer.digest, layer.size, mediaType);
  } finally {
    await rm(file, { force: true });
  }
  const config = imageConfig(JSON.parse(Buffer.from(base.rawConfig).toString('utf8')) as Record<string, unknown>, container, layer.diffId, options);
  const image = await context.images.putImage({
    buildCache: false,
    config: Buffer.from(JSON.stringify(config)),
    layers: [...base.layers, { mediaType, digest: layer.digest, size: layer.size, platform: undefined, annotations: {} }],
    tags: options.reference === '' ? [] : [options.reference],
    eventAction: 'commit',
  });
  await context.db.transaction((client) => recordEvent(context, client, container, 'commit', { imageID: image.image!.id, ...(options.comment ? { comment: options.comment } : {}) }));
  if (options.remove) await removeKeepingLayer(context, container, image.image!.id, [...base.diffIds, layer.diffId]);
  return image;
}

/**
 * Removes a committed container, its upper directory first moved into the layer store as the top
 * layer of the image it became (what unpacking that layer's tar would make: overlay whiteouts and
 * opaque directories included), recorded for the image so that collection keeps it while the image
 * is there. Where the layer is unpacked already, or cannot be moved, the upper goes with the container.
 */
async function removeKeepingLayer(context: RuntimeContext, container: Container, imageId: string, diffIds: string[]): Promise<void> {
  const chain = chainIds(diffIds);
  const paths = containerPaths(context.stateDir, container.id);
  await context.locks.run(container.id, async () => {
    await unmountOverlay(paths.overlay);
    await withLayersPinned(async () => {
      const moved = await rename(paths.overlay.upper, context.layers.path(chain.at(-1)!)).then(
        () => true,
        () => false,
      );
      if (moved) await context.repository.recordImageLayers(context.node, imageId, chain);
    });
  });
  await removeContainer(context, container.id, { force: false, volumes: true });
}

/** The writable layer as a tar in a file (gzip unless told), with the digests of both forms. */
async function packLayer(upper: string, file: string, gzip: boolean): Promise<{ digest: string; diffId: string; size: number }> {
  const plain = createHash('sha256');
  const compressed = createHash('sha256');
  const tap = (hash: ReturnType<typeof createHash>) =>
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
  if (!gzip) {
    await pipeline(writeLayerTar(upper), tap(plain), createWriteStream(file, { mode: 0o600 }));
    const diffId = `sha256:${plain.digest('hex')}`;
    return { diffId, digest: diffId, size: (await stat(file)).size };
  }
  await pipeline(writeLayerTar(upper), tap(plain), createGzip(), tap(compressed), createWriteStream(file, { mode: 0o600 }));
  return { diffId: `sha256:${plain.digest('hex')}`, digest: `sha256:${compressed.digest('hex')}`, size: (await stat(file)).size };
}

/** The base image's config with the container's run settings, the new layer and a history entry. */
function imageConfig(base: Record<string, unknown>, container: Container, diffId: string, options: CommitOptions): Record<string, unknown> {
  const { spec } = container;
  const created = new Date().toISOString();
  const runConfig = applyChanges(
    {
      ...((base.config as Record<string, unknown> | undefined) ?? {}),
      Cmd: spec.cmd ?? undefined,
      Entrypoint: spec.entrypoint ?? undefined,
      Env: spec.env,
      WorkingDir: spec.workingDir === '/' ? '' : spec.workingDir,
      User: spec.user,
      Labels: spec.labels,
      StopSignal: spec.stopSignal === 'SIGTERM' ? undefined : spec.stopSignal,
    },
    options.changes,
  );
  const rootfs = (base.rootfs as { diff_ids?: string[] } | undefined) ?? {};
  const history = (base.history as unknown[] | undefined) ?? [];
  return {
    ...base,
    created,
    ...(options.author ? { author: options.author } : {}),
    config: runConfig,
    rootfs: { type: 'layers', diff_ids: [...(rootfs.diff_ids ?? []), diffId] },
    history: [...history, { created, created_by: spec.argv.join(' '), ...(options.author ? { author: options.author } : {}), ...(options.comment ? { comment: options.comment } : {}) }],
  };
}
