import { performance } from 'node:perf_hooks';
import { arch } from 'node:os';
import { parseDockerfile, resolveFrom, resolveInstruction, type ParsedInstruction, type ResolvedInstruction, type Stage } from '../dockerfile';
import type { BuildRun } from './run-context';
import { digestOf, stepKey, withConfig, withLayer, type BuildState } from './state';
import { copyInputs, copyLayer } from './steps/copy';
import { applyMetadata } from './steps/metadata';
import { runLayer, runProcess } from './steps/run';

/** Build args every Dockerfile may use without declaring them (Docker's proxy variables). */
const PREDEFINED_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

/** Builds one stage, step by step, each from the cache when its key is known there. */
export async function buildStage(build: BuildRun, stage: Stage, globalArgs: Record<string, string>): Promise<BuildState> {
  const label = stage.name ?? String(stage.index);
  let state = await step(build, label, stage.from, async () => ({ state: await baseState(build, stage, globalArgs), cached: false }));
  const args: Record<string, string> = Object.fromEntries(PREDEFINED_ARGS.filter((name) => name in build.options.buildArgs).map((name) => [name, build.options.buildArgs[name]!]));
  let cmdSet = false;
  const triggers = onBuildTriggers(build, state);
  build.total += triggers.length;
  if (triggers.length > 0) state = withConfig(state, stepKey(state, 'onbuild-run'), '', (image) => delete image.config.OnBuild, false);
  for (const instruction of [...triggers, ...stage.instructions]) {
    state = await step(build, label, instruction, async () => {
      const env = Object.fromEntries((state.config.config.Env ?? []).map((entry) => [entry.split('=', 1)[0]!, entry.slice(entry.indexOf('=') + 1)]));
      const resolved = resolveInstruction(instruction, { ...args, ...env }, build.dockerfile.escape);
      switch (resolved.kind) {
        case 'ARG':
          for (const arg of resolved.args) {
            const value = build.options.buildArgs[arg.name] ?? arg.defaultValue ?? globalArgs[arg.name];
            if (value !== undefined) args[arg.name] = value;
          }
          // Nothing to build: it counts as cached unless the cache is off.
          return { state, cached: !build.options.noCache };
        case 'RUN':
          return runStep(build, state, resolved, args);
        case 'COPY':
        case 'ADD':
          return copyStep(build, state, resolved);
        default:
          if (resolved.kind === 'CMD') cmdSet = true;
          return metadataStep(build, state, resolved, cmdSet);
      }
    });
  }
  return state;
}

/** Runs one step between its progress events. */
async function step(build: BuildRun, stage: string, instruction: ParsedInstruction, work: () => Promise<{ state: BuildState; cached: boolean }>): Promise<BuildState> {
  build.step++;
  const started = performance.now();
  await build.progress.started(build.step, build.total, stage, instruction.text, instruction.line);
  const { state, cached } = await work();
  if (cached) build.cachedSteps++;
  await build.progress.finished(build.step, cached, Math.round(performance.now() - started));
  return state;
}

/** The step's state from the cache when the key is there (and its layers still are), else made and recorded. */
async function cachedOr(build: BuildRun, key: string, make: () => Promise<BuildState>): Promise<{ state: BuildState; cached: boolean }> {
  const { cache, imageStore } = build.builder;
  if (!build.options.noCache) {
    const hit = await cache.lookup(key);
    if (hit !== undefined && (hit.imageId === undefined || (await imageStore.exists(hit.imageId)))) return { state: hit, cached: true };
  }
  const state = await make();
  await cache.save(state);
  return { state, cached: false };
}

/** FROM: an earlier stage's result, scratch, or an image (pulled when missing). */
async function baseState(build: BuildRun, stage: Stage, globalArgs: Record<string, string>): Promise<BuildState> {
  const from = resolveFrom(stage.from, globalArgs, build.dockerfile.escape);
  const earlier = build.dockerfile.stages.find((other) => other.index < stage.index && (other.name === from.image.toLowerCase() || String(other.index) === from.image));
  if (earlier !== undefined) return build.stages.get(earlier.index)!;
  const platform = from.platform ?? build.options.platform;
  if (from.image === 'scratch') {
    const [os = 'linux', architecture = hostArchitecture()] = platform === '' ? [] : platform.split('/');
    return { key: digestOf(['scratch', os, architecture]), layers: [], config: { architecture, os, config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] } };
  }
  const base = await build.builder.imageStore.base(from.image, platform);
  return { key: digestOf(['image', base.id]), config: base.config, layers: base.layers, imageId: base.id };
}

function hostArchitecture(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[arch()] ?? arch();
}

/** The base image's ONBUILD instructions, which run first in a stage built FROM it. */
function onBuildTriggers(build: BuildRun, state: BuildState): ParsedInstruction[] {
  const triggers = state.config.config.OnBuild ?? [];
  if (triggers.length === 0) return [];
  return parseDockerfile(`FROM scratch\n${triggers.join('\n')}\n`).stages[0]!.instructions.map((instruction) => ({ ...instruction, line: 0 }));
}

async function metadataStep(build: BuildRun, state: BuildState, resolved: ResolvedInstruction, cmdSet: boolean): Promise<{ state: BuildState; cached: boolean }> {
  const { line: _line, ...what } = resolved;
  const key = stepKey(state, what);
  return cachedOr(build, key, async () => {
    return withConfig(state, key, resolved.text, (image) => applyMetadata(image, resolved, cmdSet));
  });
}

async function runStep(build: BuildRun, state: BuildState, resolved: Extract<ResolvedInstruction, { kind: 'RUN' }>, args: Record<string, string>): Promise<{ state: BuildState; cached: boolean }> {
  const process = runProcess(state, resolved, args);
  const key = stepKey(state, 'RUN', process, resolved.mounts, build.options.network);
  return cachedOr(build, key, async () => {
    const { imageStore } = build.builder;
    const parentImageId = await heldImage(build, state);
    const { layer, committedImageId } = await runLayer(build, parentImageId, state, resolved, process);
    const next = withLayer(state, key, `RUN ${process.argv.join(' ')} # buildkit`, layer);
    next.imageId = await imageStore.putImage(next, { tags: [], buildCache: true });
    await imageStore.remove(committedImageId);
    return next;
  });
}

async function copyStep(build: BuildRun, state: BuildState, resolved: Extract<ResolvedInstruction, { kind: 'COPY' | 'ADD' }>): Promise<{ state: BuildState; cached: boolean }> {
  const key = stepKey(state, await copyInputs(build, resolved, (name) => sourceIdentity(build, name)));
  return cachedOr(build, key, async () => {
    const { imageStore } = build.builder;
    const { layer, path } = await copyLayer(build, state, resolved, (name) => imageForCopy(build, name), async (path) => build.builder.runtime.isDirectory(await heldImage(build, state), path));
    await imageStore.writeBlob(path, layer.digest, layer.size, layer.mediaType);
    const next = withLayer(state, key, `${resolved.text} # buildkit`, layer);
    next.imageId = await imageStore.putImage(next, { tags: [], buildCache: true });
    return next;
  });
}

/** What `COPY --from=NAME` copies from, for the cache: an earlier stage's key, or an image's id. */
async function sourceIdentity(build: BuildRun, name: string): Promise<string> {
  const stage = stageNamed(build, name);
  if (stage !== undefined) return builtStage(build, stage, name).key;
  return (await build.builder.imageStore.base(name, build.options.platform)).id;
}

/** `COPY --from=NAME`: an earlier stage (by name or index), else an image. */
async function imageForCopy(build: BuildRun, name: string): Promise<string> {
  const stage = stageNamed(build, name);
  if (stage !== undefined) return heldImage(build, builtStage(build, stage, name));
  return (await build.builder.imageStore.base(name, build.options.platform)).id;
}

function stageNamed(build: BuildRun, name: string): Stage | undefined {
  return build.dockerfile.stages.find((other) => other.name === name.toLowerCase() || String(other.index) === name);
}

function builtStage(build: BuildRun, stage: Stage, name: string): BuildState {
  const state = build.stages.get(stage.index);
  if (state === undefined) throw new Error(`stage ${name} was not built before the step that copies from it`);
  return state;
}

/** An image in the image-store for a state (RUN and COPY --from run containers of it), put there once. */
async function heldImage(build: BuildRun, state: BuildState): Promise<string> {
  state.imageId ??= await build.builder.imageStore.putImage(state, { tags: [], buildCache: true });
  return state.imageId;
}
