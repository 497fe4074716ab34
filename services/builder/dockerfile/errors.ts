import { BerthError, invalidArgument, isBerthError } from '../../../libs/errors';

/** A mistake in the Dockerfile, located as people look for it: "Dockerfile line N: ...". */
export function lineError(line: number, message: string): BerthError {
  return invalidArgument(`Dockerfile line ${line}: ${message}`);
}

/**
 * Runs fn for the instruction at line, locating any user error it throws there. The helpers it calls
 * (word splitting, expansion, value checks) know nothing of lines; this is the one place that adds them.
 */
export function atLine<T>(line: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!isBerthError(err, 'invalid_argument')) throw err;
    throw new BerthError('invalid_argument', `Dockerfile line ${line}: ${err.message}`, { cause: err });
  }
}
