/**
 * The error vocabulary of every Berth service. Domain code throws these; the gRPC layer maps them to
 * status codes in exactly one place (libs/grpc/status.ts), and maps status codes back to them on the
 * client side, so callers on both sides of a wire speak the same kinds.
 */
export type ErrorKind =
  | 'not_found'
  | 'already_exists'
  | 'invalid_argument'
  | 'failed_precondition'
  | 'resource_exhausted'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'cancelled'
  | 'permission_denied'
  | 'unauthenticated'
  | 'internal';

/** An error whose message is a sentence a person can act on. */
export class BerthError extends Error {
  /** True when a server returned it (as a gRPC status), false when it arose in this process. */
  readonly remote: boolean;

  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown; remote?: boolean },
  ) {
    super(message, { cause: options?.cause });
    this.name = 'BerthError';
    this.remote = options?.remote ?? false;
  }
}

export const notFound = (message: string): BerthError => new BerthError('not_found', message);
export const alreadyExists = (message: string): BerthError => new BerthError('already_exists', message);
export const invalidArgument = (message: string): BerthError => new BerthError('invalid_argument', message);
export const failedPrecondition = (message: string): BerthError => new BerthError('failed_precondition', message);
export const resourceExhausted = (message: string): BerthError => new BerthError('resource_exhausted', message);
export const unavailable = (message: string, cause?: unknown): BerthError =>
  new BerthError('unavailable', message, { cause });

export function isBerthError(err: unknown, kind?: ErrorKind): err is BerthError {
  return err instanceof BerthError && (kind === undefined || err.kind === kind);
}

/** The message of anything thrown, for logs and one-line reports. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
