import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeConfig } from '../../services/runtime-agent/oci';
import { mountOverlay, overlayDirs } from '../../services/runtime-agent/rootfs';
import { runCommand } from '../../test/support';
import { createContainer, inspectContainer, removeContainer } from './containers';
import type { RuntimeBench } from './suite';

/**
 * runc alone, on the same layers as the agent's containers and with the config.json the agent would
 * write (runtimeConfig, Docker's defaults): what a container costs without Berth. Its containers
 * live in the agent's runc root and its overlay under the state directory, so that the services'
 * cleanup (removeContainersOf) removes them too, even after a failure.
 */
export class RuncFloor {
  private constructor(
    private readonly root: string,
    private readonly dir: string,
    /** One overlay root shared by every floor container: the agent mounts one per container. */
    private readonly rootfs: string,
  ) {}

  static async prepare(bench: RuntimeBench): Promise<RuncFloor> {
    const { stateDir } = bench.berth;
    const dir = join(stateDir, 'bench-floor');
    const overlay = overlayDirs(dir);
    await mountOverlay(await imageLayerDirs(bench), overlay);
    return new RuncFloor(join(stateDir, 'runc'), dir, overlay.merged);
  }

  /** runc on a plain directory as the root filesystem, its bundles beside it. */
  static onDirectory(stateDir: string, rootfs: string): RuncFloor {
    return new RuncFloor(join(stateDir, 'runc'), join(rootfs, '..', 'bundles'), rootfs);
  }

  /** Writes container id's bundle, running args in cwd; its cgroup is /berth/<id>, as the agent's are. */
  bundle(id: string, args: string[], cwd = '/'): void {
    const config = runtimeConfig({
      args,
      env: [],
      cwd,
      uid: 0,
      gid: 0,
      hostname: id.slice(0, 12),
      cgroupsPath: `/berth/${id}`,
      rootfs: this.rootfs,
      nofile: openFilesHardLimit(),
    });
    mkdirSync(join(this.dir, id), { recursive: true });
    writeFileSync(join(this.dir, id, 'config.json'), JSON.stringify(config));
  }

  /** `runc run`: create, start, wait and delete in one command (the agent's four RPCs). */
  async run(id: string): Promise<void> {
    await this.runc(['run', '--bundle', join(this.dir, id), id]);
  }

  /** `runc run -d`: returns once the container's process runs. */
  async runDetached(id: string): Promise<void> {
    await this.runc(['run', '-d', '--bundle', join(this.dir, id), id]);
  }

  async delete(id: string): Promise<void> {
    await this.runc(['delete', '--force', id]);
  }

  /** `runc list`: every container in the root (the agent's as well as the floor's), as a table; its lines. */
  async list(): Promise<string[]> {
    return (await this.runc(['list'])).trimEnd().split('\n');
  }

  private async runc(args: string[]): Promise<string> {
    const result = await runCommand('runc', ['--root', this.root, ...args], process.env);
    if (result.code !== 0) throw new Error(`runc ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
    return result.stdout;
  }
}

/** The image's unpacked layers, lowest first, as the agent reports them for a container of it. */
async function imageLayerDirs(bench: RuntimeBench): Promise<string[]> {
  const id = await createContainer(bench, ['true']);
  try {
    const lower = (await inspectContainer(bench, id)).graphDriver.LowerDir;
    if (!lower) throw new Error(`the agent reports no LowerDir for container ${id}`);
    // The upper-most layer first, as overlayfs takes them.
    return lower.split(':').reverse();
  } finally {
    await removeContainer(bench, id);
  }
}

/** The agent gives its containers the host's hard limit of open files (its own, and so ours). */
function openFilesHardLimit(): number {
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  return hard === undefined || hard === 'unlimited' ? 1_048_576 : Math.min(Number(hard), 1_048_576);
}
