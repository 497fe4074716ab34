import type { Readable } from 'node:stream';
import { inMessages } from '../../../libs/grpc';
import { containerChanges, copyIn, copyOut, exportFilesystem, mountOverlay, unmountOverlay, type Change } from '../rootfs';
import type { RuntimeContext } from './context';
import { findLocalContainer } from './lookup';
import type { Container } from './model';
import { containerPaths } from './paths';
import { currentContainer } from './start';

/** Where the bytes of a streamed archive go; it resolves when the receiver has room for more. */
export type Sink = (chunk: Buffer) => Promise<void>;

/**
 * Runs fn with the container's root filesystem mounted: a running container's as it is; a stopped
 * one's mounted for the time of fn, under the container's lock so that a start cannot interleave.
 */
async function withRootfs<T>(context: RuntimeContext, text: string, fn: (rootDir: string, container: Container) => Promise<T>): Promise<T> {
  const { id } = await findLocalContainer(context, text);
  const paths = containerPaths(context.stateDir, id);
  const found = await currentContainer(context, id);
  if (found.state === 'running' || found.state === 'paused') return fn(paths.overlay.merged, found);
  return context.locks.run(id, async () => {
    const container = await currentContainer(context, id);
    await mountOverlay(container.layers.map((chainId) => context.layers.path(chainId)), paths.overlay);
    try {
      return await fn(paths.overlay.merged, container);
    } finally {
      await unmountOverlay(paths.overlay);
    }
  });
}

/** `docker diff`: what the container changed, from its writable layer alone (no mount needed). */
export async function diffContainer(context: RuntimeContext, text: string): Promise<Change[]> {
  const container = await findLocalContainer(context, text);
  const paths = containerPaths(context.stateDir, container.id);
  return containerChanges(paths.overlay.upper, container.layers.map((chainId) => context.layers.path(chainId)));
}

/** `docker export`: the container's whole filesystem as a tar. */
export function exportContainer(context: RuntimeContext, text: string, sink: Sink): Promise<void> {
  return withRootfs(context, text, (rootDir) => drain(exportFilesystem(rootDir), sink));
}

/** `docker cp CONTAINER:PATH -`: a file or directory as a tar, symlinks resolved inside the container. */
export function copyFromContainer(context: RuntimeContext, text: string, path: string, sink: Sink): Promise<void> {
  return withRootfs(context, text, async (rootDir) => drain(await copyOut(rootDir, path), sink));
}

/** `docker cp - CONTAINER:DIR`: a tar unpacked into a directory of the container, never outside it. */
export function copyToContainer(context: RuntimeContext, text: string, path: string, tar: Readable): Promise<void> {
  return withRootfs(context, text, (rootDir) => copyIn(rootDir, path, tar));
}

async function drain(stream: Readable, sink: Sink): Promise<void> {
  for await (const chunk of inMessages(stream)) await sink(chunk);
}
