import { join } from 'node:path';
import { overlayDirs, type OverlayDirs } from '../rootfs';

export interface ContainerPaths {
  /** The container's own directory: it is also its OCI bundle. */
  dir: string;
  config: string;
  log: string;
  /** conmon's --persist-dir: `exit` and `oom`. */
  persist: string;
  conmonPid: string;
  /** Directories of exec processes' specs. */
  execs: string;
  overlay: OverlayDirs;
}

export function containerPaths(stateDir: string, id: string): ContainerPaths {
  const dir = join(stateDir, 'containers', id);
  return {
    dir,
    config: join(dir, 'config.json'),
    log: join(dir, 'ctr.log'),
    persist: join(dir, 'persist'),
    conmonPid: join(dir, 'conmon.pid'),
    execs: join(dir, 'execs'),
    overlay: overlayDirs(dir),
  };
}

/** conmon writes each container's exit status here, in a file named by its id. */
export function exitsDir(stateDir: string): string {
  return join(stateDir, 'exits');
}
