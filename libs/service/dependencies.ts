import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { checkHealth, type ClientOptions } from '../grpc';

/** A check of one thing a service depends on, run when Info is called. */
export interface DependencyCheck {
  name: string;
  target: string;
  check(): Promise<{ ok: boolean; detail: string }>;
}

/** Another Berth service, through its grpc.health.v1. */
export function serviceDependency(name: string, target: string, options: ClientOptions): DependencyCheck {
  return {
    name,
    target,
    async check() {
      try {
        const status = await checkHealth(target, { ...options, deadlineMs: 2_000 });
        return { ok: status === 'SERVING', detail: status.toLowerCase().replace('_', ' ') };
      } catch (err) {
        return { ok: false, detail: (err as Error).message };
      }
    },
  };
}

/** A program the service runs (runc, conmon): found, and what it says of its version (`--version`, or versionFlag: iproute2's `ip` takes only -V). */
export function binaryDependency(name: string, program: string, versionFlag = '--version'): DependencyCheck {
  return {
    name,
    target: program,
    check: () =>
      new Promise((resolve) => {
        execFile(program, [versionFlag], { timeout: 2_000 }, (err, stdout) => {
          if (err) resolve({ ok: false, detail: (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${program} not found` : err.message.split('\n')[0]! });
          else resolve({ ok: true, detail: stdout.split('\n')[0]!.trim() });
        });
      }),
  };
}

/** A directory the service writes its state under. */
export function directoryDependency(name: string, path: string): DependencyCheck {
  return {
    name,
    target: path,
    check: async () => {
      try {
        mkdirSync(path, { recursive: true, mode: 0o711 });
        accessSync(path, constants.W_OK);
        return { ok: true, detail: 'writable' };
      } catch (err) {
        return { ok: false, detail: (err as Error).message };
      }
    },
  };
}
