import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

/** True where a missing prerequisite must fail a test rather than skip it (CI=true). */
export const STRICT = process.env.CI === 'true';

/** A program on the PATH, or undefined. */
export function which(program: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks what a test needs (root, programs). Where something is missing the test is skipped, except
 * under CI=true, where it fails: a test that needs the real thing must run there.
 */
export function requirePrerequisites(t: TestContext, needs: { root?: boolean; programs?: string[] }): boolean {
  const missing: string[] = [];
  if (needs.root && process.getuid?.() !== 0) missing.push('root');
  for (const program of needs.programs ?? []) if (which(program) === undefined) missing.push(program);
  if (missing.length === 0) return true;
  const message = `missing prerequisites: ${missing.join(', ')} (deploy/setup.sh installs them)`;
  if (STRICT) throw new Error(message);
  t.skip(message);
  return false;
}
