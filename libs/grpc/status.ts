import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { BerthError, type ErrorKind } from '../errors';

const CODE_OF_KIND: Record<ErrorKind, status> = {
  not_found: status.NOT_FOUND,
  already_exists: status.ALREADY_EXISTS,
  invalid_argument: status.INVALID_ARGUMENT,
  failed_precondition: status.FAILED_PRECONDITION,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  cancelled: status.CANCELLED,
  permission_denied: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  internal: status.INTERNAL,
};

const KIND_OF_CODE = new Map<status, ErrorKind>(
  Object.entries(CODE_OF_KIND).map(([kind, code]) => [code, kind as ErrorKind]),
);

/**
 * The longest status message sent, in UTF-16 units. It travels as the grpc-message trailer,
 * percent-encoded (up to nine bytes a unit), and a client refuses metadata past 8 KiB: a message that
 * quotes a megabyte-long name back would leave the call unanswered until its deadline.
 */
const MAX_DETAILS = 512;

/**
 * The one mapping from a thrown error to a gRPC status. A BerthError keeps its sentence (cut short
 * past MAX_DETAILS); an outage of what the service stands on is UNAVAILABLE or RESOURCE_EXHAUSTED;
 * anything else is a bug, reported as INTERNAL without its details (they go to the service's log).
 */
export function toStatus(err: unknown, traceId?: string): Partial<StatusObject> & { code: status } {
  if (err instanceof BerthError) return { code: CODE_OF_KIND[err.kind], details: shortened(err.message), metadata: new Metadata() };
  const outage = outageOf(err);
  if (outage !== undefined) return { code: CODE_OF_KIND[outage.kind], details: shortened(outage.message), metadata: new Metadata() };
  const where = traceId === undefined ? '' : ` (trace ${traceId})`;
  return { code: status.INTERNAL, details: `internal error: see the service log${where}`, metadata: new Metadata() };
}

function shortened(message: string): string {
  if (message.length <= MAX_DETAILS) return message;
  // Not in the middle of a surrogate pair, which would not encode.
  const end = /[\uD800-\uDBFF]/.test(message[MAX_DETAILS - 2]!) ? MAX_DETAILS - 2 : MAX_DETAILS - 1;
  return `${message.slice(0, end)}…`;
}

/** SQLSTATEs of a Postgres that went away or is not ready yet: connection exceptions, shutdowns. */
const POSTGRES_GONE = /^(08...|57P0[1-3])$/;
/** What pg says when the server closes a connection, or the pool cannot get one in time. */
const CONNECTION_LOST = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed)/;

/**
 * Failures of what a service stands on rather than of the service: the disk is full, a server it
 * connects to (Postgres) is down or restarting. They are no bug (not INTERNAL): the client may try
 * again once they pass.
 */
function outageOf(err: unknown): { kind: ErrorKind; message: string } | undefined {
  if (!(err instanceof Error)) return undefined;
  const { code, syscall, severity } = err as Error & { code?: unknown; syscall?: unknown; severity?: unknown };
  if (code === 'ENOSPC' || code === 'EDQUOT') return { kind: 'resource_exhausted', message: `no space left on the state disk: ${err.message}` };
  const postgresGone = severity !== undefined && typeof code === 'string' && POSTGRES_GONE.test(code);
  const socketLost = code === 'EPIPE' || code === 'ECONNRESET';
  if (syscall === 'connect' || socketLost || postgresGone || CONNECTION_LOST.test(err.message)) return { kind: 'unavailable', message: `a server this service needs is not reachable: ${err.message}` };
  return undefined;
}

/** The reverse mapping, for clients: a failed call becomes a BerthError of the matching kind. */
export function fromServiceError(err: ServiceError | Error, target?: string): BerthError {
  const code = (err as ServiceError).code;
  if (code === undefined) return new BerthError('internal', err.message, { cause: err, remote: true });
  const raw = (err as ServiceError).details || err.message;
  // grpc-js's own words when it never reached the server, as opposed to a server answering UNAVAILABLE.
  const unreachable = /^No connection established|^Connection dropped|^Failed to connect/.test(raw);
  const details = raw.replace(/^No connection established\. Last error: (Error: )?/, '').replace(/\.? ?Resolution note: ?$/, '');
  if (code === status.UNAVAILABLE && unreachable && target !== undefined) {
    return new BerthError('unavailable', `cannot reach ${target}: ${details}`, { cause: err, remote: true });
  }
  if (code === status.DEADLINE_EXCEEDED) {
    return new BerthError('deadline_exceeded', `no answer in time${target ? ` from ${target}` : ''}: ${details}`, { cause: err, remote: true });
  }
  return new BerthError(KIND_OF_CODE.get(code) ?? 'internal', details, { cause: err, remote: true });
}
