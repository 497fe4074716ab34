import type { Logger } from '../../../libs/logging';
import type { ImageStore } from '../adapters/image-store';
import type { RuntimeAgent } from '../adapters/runtime-agent';
import type { Dockerfile } from '../dockerfile';
import type { CacheRepository } from '../store/repository';
import type { BuildContext } from './context';
import type { ContextStore } from './context-store';
import type { BuildState } from './state';

/** What the builder works with, for every build. */
export interface BuilderContext {
  imageStore: ImageStore;
  runtime: RuntimeAgent;
  cache: CacheRepository;
  logger: Logger;
  /** Where builds unpack their context and write their layers; cache mounts live here too. */
  workRoot: string;
  /** Contexts kept between builds, by the client's key. */
  contexts: ContextStore;
}

/** `docker build`'s options. */
export interface BuildOptions {
  dockerfile: string;
  dockerfileContent: string;
  tags: string[];
  buildArgs: Record<string, string>;
  target: string;
  noCache: boolean;
  platform: string;
  labels: Record<string, string>;
  network: string;
}

/** What a build tells its caller as it goes. */
export interface BuildProgress {
  started(step: number, total: number, stage: string, instruction: string, line: number): Promise<void>;
  output(step: number, stream: 1 | 2, data: Buffer): Promise<void>;
  finished(step: number, cached: boolean, durationMs: number): Promise<void>;
}

/** One build as it runs. */
export interface BuildRun {
  builder: BuilderContext;
  options: BuildOptions;
  context: BuildContext;
  dockerfile: Dockerfile;
  /** This build's own directory (context, layer files), removed at its end. */
  workDir: string;
  progress: BuildProgress;
  /** The stages built so far, by index. */
  stages: Map<number, BuildState>;
  /** The step counter and the total of the stages being built. */
  step: number;
  total: number;
  cachedSteps: number;
}
