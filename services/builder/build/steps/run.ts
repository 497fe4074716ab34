import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, invalidArgument } from '../../../../libs/errors';
import type { runtime } from '../../../../libs/proto';
import type { ResolvedInstruction } from '../../dockerfile';
import { contextPath } from '../context';
import type { BuildRun } from '../run-context';
import type { BuildState, LayerRef } from '../state';
import { commandArgv } from './metadata';

type RunInstruction = Extract<ResolvedInstruction, { kind: 'RUN' }>;

/** What a RUN step runs: its argv, and the build args it sees as environment (part of its cache key). */
export function runProcess(state: BuildState, instruction: RunInstruction, args: Record<string, string>): { argv: string[]; env: string[] } {
  const imageEnv = new Set((state.config.config.Env ?? []).map((entry) => entry.split('=', 1)[0]));
  // Build args reach RUN as environment, except where ENV set the name (ENV wins, as in Docker).
  const env = Object.entries(args).filter(([name]) => !imageEnv.has(name)).map(([name, value]) => `${name}=${value}`).sort();
  return { argv: commandArgv(instruction.command, state.config.config), env };
}

/**
 * Runs a RUN step as a container of the state before it and returns its writable layer: the
 * container is committed and removed (the agent keeps its layer unpacked); the caller removes the
 * commit's image once its layer is held.
 * A non-zero exit fails the build with the code (the output was streamed already).
 */
export async function runLayer(build: BuildRun, parentImageId: string, state: BuildState, instruction: RunInstruction, process: { argv: string[]; env: string[] }): Promise<{ layer: LayerRef; committedImageId: string }> {
  const { runtime, imageStore } = build.builder;
  const mounts = await Promise.all(instruction.mounts.map((mount) => runMount(build, mount, instruction.line)));
  const { containerId, exitCode } = await runtime.run(
    { imageId: parentImageId, argv: process.argv, env: process.env, workingDir: state.config.config.WorkingDir || '/', user: state.config.config.User ?? '', mounts, network: stepNetwork(build.options.network) },
    (stream, data) => build.progress.output(build.step, stream, data),
  );
  if (exitCode !== 0) {
    await runtime.remove(containerId);
    throw failedPrecondition(`Dockerfile line ${instruction.line}: ${instruction.text}: the command returned a non-zero code: ${exitCode}`);
  }
  try {
    const committed = await runtime.commitAndRemove(containerId);
    const image = await imageStore.resolve(committed, '');
    return { layer: image.layers.at(-1)!, committedImageId: committed };
  } catch (err) {
    await runtime.remove(containerId).catch(() => undefined);
    throw err;
  }
}

/** `docker build --network`: "default" is the default bridge. */
function stepNetwork(network: string): string {
  return network === '' || network === 'default' ? 'bridge' : network;
}

/** RUN --mount: a cache directory kept by the builder across builds, a tmpfs, or a read-only bind of the context. */
async function runMount(build: BuildRun, mount: RunInstruction['mounts'][number], line: number): Promise<runtime.Mount> {
  const base = { readOnly: mount.readOnly, options: '', noCopy: false, volumeOptions: {}, volumeLabels: {}, createSource: false, target: mount.target };
  if (mount.type === 'tmpfs') return { ...base, type: 'tmpfs', source: '' };
  if (mount.type === 'cache') {
    const id = createHash('sha256').update(mount.id ?? mount.target).digest('hex').slice(0, 32);
    const source = join(build.builder.workRoot, 'cache-mounts', id);
    await mkdir(source, { recursive: true });
    return { ...base, type: 'bind', source };
  }
  if (mount.from !== undefined) throw invalidArgument(`Dockerfile line ${line}: RUN --mount=type=bind,from=... is not supported; copy the files with COPY --from`);
  if (!mount.readOnly) await build.context.forget();
  return { ...base, type: 'bind', source: join(build.context.dir, contextPath(mount.source ?? '.')) };
}
