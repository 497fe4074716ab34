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
 * The one mapping from a thrown error to a gRPC status. A BerthError keeps its sentence; anything else
 * is a bug, reported as INTERNAL without its details (they go to the service's log instead).
 */
export function toStatus(err: unknown, traceId?: string): Partial<StatusObject> & { code: status } {
  if (err instanceof BerthError) return { code: CODE_OF_KIND[err.kind], details: err.message, metadata: new Metadata() };
  const where = traceId === undefined ? '' : ` (trace ${traceId})`;
  return { code: status.INTERNAL, details: `internal error: see the service log${where}`, metadata: new Metadata() };
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
