import type { imagestore } from '../../../libs/proto';
import type { Descriptor, HistoryStep, ImageConfig, ImageDetails } from '../images';
import type { ImageRow } from '../store/repository';

/** Proto from domain and back: nothing else happens here. */

export function toSummary(image: ImageRow, containers = -1): imagestore.ImageSummary {
  return {
    id: image.id,
    repoTags: image.tags,
    repoDigests: image.repoDigests,
    created: image.created ?? undefined,
    size: image.size,
    labels: image.labels,
    containers,
  };
}

export function toDescriptor(descriptor: Descriptor): imagestore.Descriptor {
  return {
    mediaType: descriptor.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    platform: descriptor.platform === undefined
      ? undefined
      : { os: descriptor.platform.os, architecture: descriptor.platform.architecture, variant: descriptor.platform.variant ?? '', osVersion: descriptor.platform['os.version'] ?? '' },
    annotations: descriptor.annotations ?? {},
  };
}

export function fromDescriptor(descriptor: imagestore.Descriptor): Descriptor {
  return {
    mediaType: descriptor.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    ...(Object.keys(descriptor.annotations).length > 0 ? { annotations: descriptor.annotations } : {}),
  };
}

export function toImageConfig(config: ImageConfig): imagestore.ImageConfig {
  const run = config.config ?? {};
  return {
    user: run.User ?? '',
    env: run.Env ?? [],
    entrypoint: run.Entrypoint ?? [],
    cmd: run.Cmd ?? [],
    workingDir: run.WorkingDir ?? '',
    labels: run.Labels ?? {},
    exposedPorts: Object.keys(run.ExposedPorts ?? {}),
    volumes: Object.keys(run.Volumes ?? {}),
    stopSignal: run.StopSignal ?? '',
    shell: run.Shell ?? [],
    onBuild: run.OnBuild ?? [],
    healthcheckJson: run.Healthcheck === undefined || run.Healthcheck === null ? '' : JSON.stringify(run.Healthcheck),
  };
}

export function toHistoryEntry(step: HistoryStep): imagestore.HistoryEntry {
  return { created: step.created, createdBy: step.createdBy, comment: step.comment, emptyLayer: step.emptyLayer, size: step.size, id: step.id };
}

export function toDetail(details: ImageDetails, history: HistoryStep[]): imagestore.ImageDetail {
  const { image, config } = details;
  return {
    summary: toSummary(image),
    architecture: config.architecture,
    os: config.os,
    variant: config.variant ?? '',
    author: config.author ?? '',
    config: toImageConfig(config),
    diffIds: config.rootfs.diff_ids,
    manifest: { mediaType: details.manifestMediaType, digest: image.manifestDigest, size: details.manifestSize, annotations: {}, platform: undefined },
    layers: details.manifest.layers.map(toDescriptor),
    rawConfig: details.configBytes,
    history: [...history].reverse().map(toHistoryEntry),
  };
}

