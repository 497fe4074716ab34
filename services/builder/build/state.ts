import { createHash } from 'node:crypto';
import type { RunConfig } from '../../../libs/image-config';

/** One entry of an image's history, as the OCI config keeps it. */
export interface HistoryEntry {
  created: string;
  created_by: string;
  empty_layer?: boolean;
  comment?: string;
}

/** The OCI image config the build edits. */
export interface ImageConfigJson {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config: RunConfig & { Shell?: string[]; Healthcheck?: unknown; Cmd?: string[] | null; Entrypoint?: string[] | null; WorkingDir?: string; User?: string; StopSignal?: string };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: HistoryEntry[];
}

/** A layer of the image being built: its blob in the image-store and its uncompressed digest. */
export interface LayerRef {
  mediaType: string;
  digest: string;
  size: number;
  diffId: string;
}

/** Where a stage's build stands after a step: what the image would be if it ended there. */
export interface BuildState {
  config: ImageConfigJson;
  layers: LayerRef[];
  /** The cache key of this state: a digest of the steps that led to it. */
  key: string;
  /** An image in the image-store that holds exactly this state, once one was put there. */
  imageId?: string;
}

/**
 * A step's cache key: the digest of the state before it and what the step is made of. The parent's
 * top layer is part of it, so that a step built again (a RUN whose cached layer was lost) gives
 * the steps after it new keys.
 */
export function stepKey(parent: BuildState, ...parts: unknown[]): string {
  const top = parent.config.rootfs.diff_ids.at(-1) ?? '';
  return digestOf([parent.key, top, ...parts]);
}

export function digestOf(value: unknown): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(value)).digest('hex')}`;
}

/** The state after a step that changes only the config: with a history entry that has no layer, unless told not to. */
export function withConfig(state: BuildState, key: string, createdBy: string, edit: (config: ImageConfigJson) => void, recordHistory = true): BuildState {
  const config = structuredClone(state.config);
  edit(config);
  // The image is as new as its newest step, as Docker's: a cached step keeps the time it was built.
  config.created = new Date().toISOString();
  if (recordHistory) config.history.push({ created: config.created, created_by: createdBy, empty_layer: true });
  return { config, layers: state.layers, key };
}

/** The state after a step that adds a layer. */
export function withLayer(state: BuildState, key: string, createdBy: string, layer: LayerRef): BuildState {
  const config = structuredClone(state.config);
  config.rootfs.diff_ids.push(layer.diffId);
  config.created = new Date().toISOString();
  config.history.push({ created: config.created, created_by: createdBy });
  return { config, layers: [...state.layers, layer], key };
}
