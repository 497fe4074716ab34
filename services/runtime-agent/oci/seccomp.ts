import { readFileSync } from 'node:fs';
import { failedPrecondition } from '../../../libs/errors';

/** Where Debian's containers-common (a dependency of conmon) ships the default profile, Docker's format. */
export const DEFAULT_PROFILE_PATH = '/usr/share/containers/seccomp.json';

interface Condition {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

interface ProfileRule {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: unknown[];
  includes?: Condition;
  excludes?: Condition;
}

interface Profile {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap?: Array<{ architecture: string; subArchitectures?: string[] }>;
  syscalls: ProfileRule[];
}

/** The runtime-spec seccomp section (config.md#seccomp). */
export interface SpecSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: Array<{ names: string[]; action: string; errnoRet?: number; args?: unknown[] }>;
}

const SECCOMP_ARCHES: Record<string, string> = { x64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM', ia32: 'SCMP_ARCH_X86', ppc64: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X', riscv64: 'SCMP_ARCH_RISCV64' };
const PROFILE_ARCHES: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

let cached: Profile | undefined;

function loadProfile(path: string): Profile {
  if (cached !== undefined && path === DEFAULT_PROFILE_PATH) return cached;
  try {
    const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
    if (path === DEFAULT_PROFILE_PATH) cached = profile;
    return profile;
  } catch (err) {
    throw failedPrecondition(`cannot read the seccomp profile ${path} (${(err as Error).message}): install golang-github-containers-common (deploy/setup.sh does)`);
  }
}

/**
 * The profile for one container, as Docker derives it: the rules whose conditions hold for the
 * container's capabilities and this host's architecture, in the runtime spec's form.
 */
export function seccompFor(capabilities: string[], path = DEFAULT_PROFILE_PATH): SpecSeccomp {
  const profile = loadProfile(path);
  const arch = SECCOMP_ARCHES[process.arch] ?? `SCMP_ARCH_${process.arch.toUpperCase()}`;
  const profileArch = PROFILE_ARCHES[process.arch] ?? process.arch;
  const entry = profile.archMap?.find((a) => a.architecture === arch);
  const caps = new Set(capabilities);
  const holds = (rule: ProfileRule) => {
    const { includes = {}, excludes = {} } = rule;
    if (includes.caps && !includes.caps.every((c) => caps.has(c))) return false;
    if (includes.arches && !includes.arches.includes(profileArch)) return false;
    if (excludes.caps && excludes.caps.some((c) => caps.has(c))) return false;
    if (excludes.arches && excludes.arches.includes(profileArch)) return false;
    return true;
  };
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures: [arch, ...(entry?.subArchitectures ?? [])],
    syscalls: profile.syscalls.filter(holds).map((rule) => ({
      names: rule.names ?? (rule.name ? [rule.name] : []),
      action: rule.action,
      ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
      ...(rule.args && rule.args.length > 0 ? { args: rule.args } : {}),
    })),
  };
}
