import { mkdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { failedPrecondition } from '../../../libs/errors';
import { runProgram } from '../spawner';

/** The page the legacy mount(2) takes for options: layers are named short to fit many. */
const MOUNT_OPTIONS_LIMIT = 4096;

/** Short names of layer directories, beside them: `.l/<first 12 characters>` → `../<name>`. */
const SHORT_LINKS = '.l';
const SHORT_LENGTH = 12;

/**
 * A layer directory's short name, relative to the layers' root, made on first use: 100 layers of
 * 64-character names would not fit the mount options; 100 of 16 do (Docker's overlay2 does the same).
 */
async function shortName(layerDir: string): Promise<string> {
  const name = basename(layerDir);
  const link = join(SHORT_LINKS, name.slice(0, SHORT_LENGTH));
  await mkdir(join(dirname(layerDir), SHORT_LINKS), { recursive: true, mode: 0o700 });
  await symlink(join('..', name), join(dirname(layerDir), link)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return link;
}

/** Forgets the short name of a layer directory that is being removed. */
export async function removeShortName(layerDir: string): Promise<void> {
  await rm(join(dirname(layerDir), SHORT_LINKS, basename(layerDir).slice(0, SHORT_LENGTH)), { force: true });
}

/**
 * Where the runtime mounts /dev, /proc and /sys: made in a layer of the container's own below its
 * writable one (Docker's init layer), so that they never show as the container's changes.
 */
const RUNTIME_MOUNT_POINTS = ['dev', 'proc', 'sys', 'etc'];
/** The files the agent binds over the image's (the network's), so that their mount points are not in the upper. */
const RUNTIME_MOUNT_FILES = ['etc/hosts', 'etc/resolv.conf', 'etc/hostname'];

export interface OverlayDirs {
  /** The container's writable layer. */
  upper: string;
  /** overlayfs's scratch directory, on the same filesystem as upper. */
  work: string;
  /** Where the root filesystem appears. */
  merged: string;
  /** The container's init layer: mount points the runtime needs, not the container's changes. */
  init: string;
}

/** The directories of a container's copy-on-write root under its own directory. */
export function overlayDirs(containerDir: string): OverlayDirs {
  return { upper: join(containerDir, 'upper'), work: join(containerDir, 'work'), merged: join(containerDir, 'rootfs'), init: join(containerDir, 'init') };
}

/**
 * Mounts a container's root: the image's layers (lowest first) read-only below, the container's own
 * upper directory above, so that writes never reach the image. The layers all live in one directory,
 * so they are named relative to it (mount runs there), which keeps many layers within the kernel's
 * one page of mount options, as Docker's overlay2 and containerd do.
 */
export async function mountOverlay(layerDirs: string[], dirs: OverlayDirs): Promise<void> {
  await Promise.all([dirs.upper, dirs.work, dirs.merged].map((d) => mkdir(d, { recursive: true, mode: 0o755 })));
  await Promise.all(RUNTIME_MOUNT_POINTS.map((name) => mkdir(join(dirs.init, name), { recursive: true, mode: 0o755 })));
  await Promise.all(RUNTIME_MOUNT_FILES.map((name) => writeFile(join(dirs.init, name), '', { flag: 'a', mode: 0o644 })));
  const layersRoot = dirname(layerDirs[0]!);
  const sameRoot = layerDirs.every((d) => dirname(d) === layersRoot);
  const names = sameRoot ? await Promise.all(layerDirs.map(shortName)) : layerDirs;
  // overlayfs lists the upper-most lower layer first; the container's init layer is above the image's.
  const lower = [dirs.init, ...names.reverse()].join(':');
  const options = `lowerdir=${lower},upperdir=${dirs.upper},workdir=${dirs.work},index=off`;
  if (options.length >= MOUNT_OPTIONS_LIMIT) {
    throw failedPrecondition(`the image has too many layers (${layerDirs.length}) for one overlay mount's options`);
  }
  try {
    await runProgram('mount', ['-t', 'overlay', 'overlay', '-o', options, dirs.merged], { cwd: sameRoot ? layersRoot : undefined });
  } catch (err) {
    const text = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    // Some kernels lack the index parameter; it only matters to features Berth does not use.
    if (/index/.test(text) || /wrong fs type|bad option/.test(text)) {
      await runProgram('mount', ['-t', 'overlay', 'overlay', '-o', options.replace(',index=off', ''), dirs.merged], { cwd: sameRoot ? layersRoot : undefined });
      return;
    }
    throw failedPrecondition(`cannot mount the container's root: ${text}`);
  }
}

/** Unmounts a container's root; one that is not mounted is fine. */
export async function unmountOverlay(dirs: OverlayDirs): Promise<void> {
  if (!(await isMountPoint(dirs.merged))) return;
  try {
    await runProgram('umount', [dirs.merged]);
  } catch (err) {
    const text = (err as { stderr?: string }).stderr ?? '';
    if (!/not mounted|no mount point/.test(text)) throw failedPrecondition(`cannot unmount ${dirs.merged}: ${text.trim()}`);
  }
}

/** Whether something is mounted at path: a mount point's device differs from its parent's. */
async function isMountPoint(path: string): Promise<boolean> {
  try {
    const [own, parent] = await Promise.all([stat(path), stat(dirname(path))]);
    return own.dev !== parent.dev;
  } catch {
    return false;
  }
}
