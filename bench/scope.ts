import { messageOf } from '../libs/errors';

type Cleanup = () => unknown;
export type Defer = (cleanup: Cleanup) => void;

/** The cleanups of every scope still open, outermost first: what an interrupted run undoes. */
const open: Cleanup[][] = [];
/** The cleanup of an interrupted run, once a signal came. */
let interrupted: Promise<void> | undefined;

/**
 * Runs body with a defer() whose cleanups run in reverse order when body ends, even when it throws,
 * so that a failed benchmark leaves no service, container, mount or cgroup behind.
 */
export async function scoped<T>(body: (defer: Defer) => Promise<T>): Promise<T> {
  // After a signal nothing new starts: it would outlive the exit.
  if (interrupted !== undefined) throw new Error('interrupted');
  const cleanups: Cleanup[] = [];
  open.push(cleanups);
  try {
    return await body((cleanup) => void cleanups.push(cleanup));
  } finally {
    open.splice(open.indexOf(cleanups), 1);
    await runCleanups(cleanups.splice(0));
  }
}

/** Whether a signal came: a long loop stops starting new work once it has. */
export function isInterrupted(): boolean {
  return interrupted !== undefined;
}

/**
 * Ctrl-C or SIGTERM: the open scopes' cleanups run (innermost first), then the process exits. The
 * benchmark under way goes on meanwhile and fails as its services go: see exitAfterCleanup.
 */
export function cleanUpOnSignals(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`bench: ${signal}, cleaning up\n`);
    // Taken from their scopes at once: a scope that ends meanwhile must not run them a second time,
    // nor an outer one's (stopping Postgres) before an inner one's (dropping its database).
    const taken = [...open].reverse().map((cleanups) => cleanups.splice(0));
    interrupted ??= (async () => {
      for (const cleanups of taken) await runCleanups(cleanups);
    })();
    void interrupted.then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
}

/** Exits with code, unless a signal came: then its cleanup finishes first, and the code is 130. */
export async function exitAfterCleanup(code: number): Promise<never> {
  if (interrupted !== undefined) {
    await interrupted;
    code = 130;
  }
  process.exit(code);
}

async function runCleanups(cleanups: Cleanup[]): Promise<void> {
  // Each one runs even when an earlier one failed: a stuck unmount must not leave services running.
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (err) {
      process.stderr.write(`bench cleanup failed: ${messageOf(err)}\n`);
    }
  }
}
