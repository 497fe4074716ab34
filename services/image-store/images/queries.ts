import { matchesLabel } from '../../../libs/filters';
import { invalidArgument } from '../../../libs/errors';
import type { ImageRow } from '../store/repository';
import { loadImage, resolveImage } from './catalog';
import type { ImageContext } from './context';
import type { Descriptor, ImageConfig, Manifest } from './manifest';
import { parsePlatform } from './manifest';

/** `docker images --filter` keys and their values. */
export type ImageFilters = Record<string, string[]>;

const FILTER_KEYS = new Set(['reference', 'dangling', 'label', 'before', 'since']);

/** Images, newest first, filtered as `docker images` filters them. */
export async function listImages(context: ImageContext, filters: ImageFilters, all: boolean): Promise<ImageRow[]> {
  for (const key of Object.keys(filters)) {
    if (!FILTER_KEYS.has(key)) throw invalidArgument(`invalid filter "${key}": use reference, dangling, label, before or since`);
  }
  const images = await context.repository.listImages();
  const parents = new Set(images.map((i) => i.parentId).filter((p): p is string => p !== null));
  const before = filters.before?.length ? (await resolveImage(context, filters.before[0]!)).image : undefined;
  const since = filters.since?.length ? (await resolveImage(context, filters.since[0]!)).image : undefined;
  // A reference is at most 255 characters of name and 128 of tag; a longer pattern matches nothing
  // and would only make a huge expression.
  const tooLong = filters.reference?.find((pattern) => pattern.length > 400);
  if (tooLong !== undefined) throw invalidArgument(`invalid filter reference=${tooLong.slice(0, 40)}...: longer than any reference`);
  const dangling = filters.dangling?.[0];
  if (dangling !== undefined && dangling !== 'true' && dangling !== 'false') throw invalidArgument(`invalid filter dangling=${dangling}: use true or false`);

  return images.filter((image) => {
    // Untagged images that others are built on, or that the builder holds as cache, are build
    // intermediates (as Docker's are): shown only with --all.
    if (!all && image.tags.length === 0 && (image.buildCache || parents.has(image.id))) return false;
    if (dangling !== undefined && (image.tags.length === 0) !== (dangling === 'true')) return false;
    if (filters.reference?.length && !filters.reference.some((pattern) => image.tags.some((tag) => matchesReference(tag, pattern)))) return false;
    if (filters.label?.length && !filters.label.every((label) => matchesLabel(image.labels, label))) return false;
    if (before !== undefined && !isOlder(image, before)) return false;
    if (since !== undefined && !isOlder(since, image)) return false;
    return true;
  });
}

function isOlder(a: ImageRow, b: ImageRow): boolean {
  return (a.created?.getTime() ?? 0) < (b.created?.getTime() ?? 0);
}

/** A reference filter is a glob over the familiar or full name, with or without the tag. */
function matchesReference(name: string, pattern: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  const familiar = name.replace(/^docker\.io\/(library\/)?/, '');
  const candidates = [name, familiar, name.replace(/:[^:/]+$/, ''), familiar.replace(/:[^:/]+$/, '')];
  return candidates.some((candidate) => regex.test(candidate));
}

export interface ImageDetails {
  image: ImageRow;
  config: ImageConfig;
  configBytes: Buffer;
  manifest: Manifest;
  manifestMediaType: string;
  manifestSize: number;
}

/** Everything about one image, for inspect, history and resolve. */
export async function inspectImage(context: ImageContext, text: string): Promise<ImageDetails & { reference?: string }> {
  const { image, reference } = await resolveImage(context, text);
  const loaded = await loadImage(context, image);
  return {
    image,
    reference,
    config: loaded.config,
    configBytes: loaded.configBytes,
    manifest: loaded.manifest,
    manifestMediaType: loaded.manifestMediaType,
    manifestSize: loaded.manifestBytes.length,
  };
}

export interface HistoryStep {
  created?: Date;
  createdBy: string;
  comment: string;
  emptyLayer: boolean;
  size: number;
  id: string;
}

/** The steps that made the image, newest first, each non-empty one with its layer's size. */
export async function imageHistory(context: ImageContext, text: string): Promise<HistoryStep[]> {
  const { image, config, manifest } = await inspectImage(context, text);
  const layers = [...manifest.layers];
  const history: NonNullable<ImageConfig['history']> = config.history ?? manifest.layers.map(() => ({}));
  const steps = history.map((entry, index): HistoryStep => {
    const emptyLayer = entry.empty_layer === true;
    const layer = emptyLayer ? undefined : layers.shift();
    return {
      created: timeOf(entry.created),
      createdBy: entry.created_by ?? '',
      comment: entry.comment ?? '',
      emptyLayer,
      size: layer?.size ?? 0,
      id: index === history.length - 1 ? image.id : '<missing>',
    };
  });
  return steps.reverse();
}

/** What a runtime needs to run the image. */
export async function resolveForRuntime(context: ImageContext, text: string, platform: string): Promise<ImageDetails & { reference?: string; layers: Descriptor[] }> {
  const details = await inspectImage(context, text);
  const wanted = parsePlatform(platform);
  if (details.config.os !== '' && (details.config.os !== wanted.os || details.config.architecture !== wanted.architecture)) {
    throw invalidArgument(
      `image ${text} is for ${details.config.os}/${details.config.architecture}, not ${wanted.os}/${wanted.architecture}`,
    );
  }
  return { ...details, layers: details.manifest.layers };
}

/**
 * A history entry's time, or none when it is not one: a config's history is shown, not recorded, and
 * an image that says "yesterday" there is still an image; a Date of NaN would fail the reply.
 */
function timeOf(text: string | undefined): Date | undefined {
  const time = text === undefined ? NaN : Date.parse(text);
  return Number.isFinite(time) ? new Date(time) : undefined;
}
