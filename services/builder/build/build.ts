import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { invalidArgument } from '../../../libs/errors';
import { parseDockerfile, resolveInstruction, type Dockerfile, type Stage } from '../dockerfile';
import { readDockerfile, receiveContext } from './context';
import type { ContextUpload } from './context-store';
import type { BuildOptions, BuildProgress, BuilderContext, BuildRun } from './run-context';
import { buildStage } from './stage';
import { withConfig } from './state';

export interface BuildResult {
  imageId: string;
  tags: string[];
  cachedSteps: number;
  durationMs: number;
}

/**
 * `docker build`: the context received (into the directory kept for its key, or the build's own),
 * the Dockerfile parsed, the stages the target needs built in order, and the result put into the
 * image-store with its tags (its build event goes with it). The build's directory goes at the end,
 * whatever happens.
 */
export async function runBuild(builder: BuilderContext, options: BuildOptions, upload: ContextUpload, progress: BuildProgress): Promise<BuildResult> {
  const started = performance.now();
  if (!['', 'default', 'none', 'host'].includes(options.network)) throw invalidArgument(`--network "${options.network}": a build's RUN steps take default, none or host`);
  await mkdir(builder.workRoot, { recursive: true, mode: 0o700 });
  const workDir = await mkdtemp(join(builder.workRoot, 'build-'));
  let releaseContext = () => {};
  try {
    const dockerfilePath = options.dockerfile || 'Dockerfile';
    const context = await receiveContext(builder.contexts, upload, join(workDir, 'context'), dockerfilePath);
    releaseContext = context.release;
    const dockerfile = parseDockerfile(await readDockerfile(context, dockerfilePath, options.dockerfileContent));
    const stages = stagesFor(dockerfile, options.target);
    const build: BuildRun = {
      builder, options, context, dockerfile, workDir, progress,
      stages: new Map(),
      step: 0,
      total: stages.reduce((sum, stage) => sum + 1 + stage.instructions.length, 0),
      cachedSteps: 0,
    };
    const globalArgs = globalArgValues(dockerfile, options.buildArgs);
    for (const stage of stages) build.stages.set(stage.index, await buildStage(build, stage, globalArgs));
    let result = build.stages.get(stages.at(-1)!.index)!;
    if (Object.keys(options.labels).length > 0) {
      result = withConfig(result, result.key, '', (image) => (image.config.Labels = { ...image.config.Labels, ...options.labels }), false);
    }
    const imageId = await builder.imageStore.putImage(result, { tags: options.tags, buildCache: false });
    return { imageId, tags: options.tags, cachedSteps: build.cachedSteps, durationMs: Math.round(performance.now() - started) };
  } finally {
    releaseContext();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The ARGs before the first FROM, with --build-arg values over their defaults. */
function globalArgValues(dockerfile: Dockerfile, buildArgs: Record<string, string>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const instruction of dockerfile.globalArgs) {
    const resolved = resolveInstruction(instruction, values, dockerfile.escape);
    if (resolved.kind !== 'ARG') continue;
    for (const arg of resolved.args) {
      const value = buildArgs[arg.name] ?? arg.defaultValue;
      if (value !== undefined) values[arg.name] = value;
    }
  }
  return values;
}

/**
 * The stages the target needs, in file order: the target, the stages it is built FROM and those it
 * copies from, and theirs in turn. The others are not built.
 */
function stagesFor(dockerfile: Dockerfile, target: string): Stage[] {
  const byReference = (reference: string) => dockerfile.stages.find((stage) => stage.name === reference.toLowerCase() || String(stage.index) === reference);
  const last = target === '' ? dockerfile.stages.at(-1) : byReference(target);
  if (last === undefined) throw invalidArgument(`target stage "${target}" could not be found`);
  const needed = new Set<number>();
  const visit = (stage: Stage) => {
    if (needed.has(stage.index)) return;
    needed.add(stage.index);
    const references = [stage.from.rawArguments?.trim().split(/\s+/)[0] ?? '', ...stage.instructions.flatMap((instruction) => instruction.flags.filter((flag) => flag.name === 'from').map((flag) => flag.value))];
    for (const reference of references) {
      const dependency = byReference(reference);
      if (dependency !== undefined && dependency.index < stage.index) visit(dependency);
    }
  };
  visit(last);
  return dockerfile.stages.filter((stage) => needed.has(stage.index));
}
