import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, Transform, type Readable } from 'node:stream';
import { invalidArgument } from '../../../libs/errors';
import { chainIds } from './chain';
import { unpackTar } from '../../../libs/archive';
import { Semaphore } from '../../../libs/lock';
import { metrics } from '@opentelemetry/api';

export interface LayerToUnpack {
  /** The compressed blob's digest, as the manifest names it. */
  digest: string;
  mediaType: string;
  /** The uncompressed tar's digest, as the config's rootfs names it. */
  diffId: string;
}

/** Opens a layer blob, for example a ReadBlob stream from the image-store. */
export type OpenBlob = (digest: string) => Promise<Readable>;

/**
 * Layers fetched and unpacked at once: enough to use the link and the disk, few enough that many
 * containers of a new image starting together do not swamp the image-store.
 */
const CONCURRENT_UNPACKS = 3;

const GZIP_TYPES = new Set(['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip']);
const PLAIN_TYPES = new Set(['application/vnd.oci.image.layer.v1.tar', 'application/vnd.docker.image.rootfs.diff.tar']);

/**
 * The layers unpacked on this host, one directory per chain id under root: an image's layer is
 * unpacked once and shared by every container of every image whose stack starts the same. A layer is
 * unpacked into a temporary directory and renamed into place only once its blob digest and its diff
 * id are verified; requests for a layer already being unpacked wait for that one (single flight),
 * and at most CONCURRENT_UNPACKS are fetched at once.
 */
export class LayerStore {
  private readonly unpacking = new Map<string, Promise<string>>();
  private readonly slots = new Semaphore(CONCURRENT_UNPACKS);
  private readonly unpacked = metrics.getMeter('berth-runtime').createCounter('berth_layers_unpacked_total', {
    description: 'Layers fetched from the image-store and unpacked on this node',
  });

  constructor(readonly root: string) {}

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    // Unpacks that died with an earlier process left only temporary directories.
    for (const name of await readdir(this.root)) {
      if (name.startsWith('.unpack-')) await rm(join(this.root, name), { recursive: true, force: true });
    }
  }

  /** The directory of a chain id. */
  path(chainId: string): string {
    return join(this.root, chainId.replace(/^sha256:/, ''));
  }

  /** Makes sure every layer of an image is unpacked; returns their directories, lowest first. */
  async ensure(layers: LayerToUnpack[], open: OpenBlob): Promise<string[]> {
    const chain = chainIds(layers.map((l) => l.diffId));
    // Layers are independent once named by chain id: unpack them at once.
    return Promise.all(layers.map((layer, index) => this.ensureOne(layer, chain[index]!, open)));
  }

  private ensureOne(layer: LayerToUnpack, chainId: string, open: OpenBlob): Promise<string> {
    const target = this.path(chainId);
    if (existsSync(target)) return Promise.resolve(target);
    const running = this.unpacking.get(chainId);
    if (running !== undefined) return running;
    const unpack = this.slots.run(() => this.unpack(layer, target, open)).finally(() => this.unpacking.delete(chainId));
    this.unpacking.set(chainId, unpack);
    return unpack;
  }

  private async unpack(layer: LayerToUnpack, target: string, open: OpenBlob): Promise<string> {
    const gzip = GZIP_TYPES.has(layer.mediaType);
    if (!gzip && !PLAIN_TYPES.has(layer.mediaType)) throw invalidArgument(`layer ${layer.digest} has an unsupported media type "${layer.mediaType}"`);
    const temporary = join(this.root, `.unpack-${randomUUID()}`);
    await mkdir(temporary, { mode: 0o755 });
    try {
      const hash = createHash('sha256');
      // pipeline() carries a failure of the blob's stream to the extraction reading from it.
      const measured = pipeline(
        await open(layer.digest),
        new Transform({
          transform(chunk: Buffer, _encoding, done) {
            hash.update(chunk);
            done(null, chunk);
          },
        }),
        () => undefined,
      );
      const { diffId } = await unpackTar(measured, temporary, { gzip });
      const digest = `sha256:${hash.digest('hex')}`;
      if (digest !== layer.digest) throw invalidArgument(`layer blob does not match its digest: expected ${layer.digest}, got ${digest}`);
      if (diffId !== layer.diffId) throw invalidArgument(`layer ${layer.digest} does not match its diff id: expected ${layer.diffId}, got ${diffId}`);
      await rename(temporary, target);
      this.unpacked.add(1);
      return target;
    } catch (err) {
      await rm(temporary, { recursive: true, force: true });
      throw err;
    }
  }
}
