import type { ServerResponse } from 'node:http';
import { BerthError, isBerthError } from '../../../libs/errors';

/** The distribution spec's error codes, with their HTTP statuses. */
export const REGISTRY_ERRORS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_UNKNOWN: 404,
  MANIFEST_UNKNOWN: 404,
  NAME_UNKNOWN: 404,
  NAME_INVALID: 400,
  DIGEST_INVALID: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  SIZE_INVALID: 400,
  RANGE_INVALID: 416,
  UNSUPPORTED: 405,
} as const;

export type RegistryErrorCode = keyof typeof REGISTRY_ERRORS;

/** An error the registry answers with its spec code. */
export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Writes an error body as the spec has it: {"errors": [{"code", "message"}]}. */
export function sendError(response: ServerResponse, err: unknown): void {
  const { status, code, message } = describe(err);
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ errors: [{ code, message, detail: null }] }));
}

/** The HTTP status an error is answered with: a 5xx only for what is not the client's doing. */
export function statusOf(err: unknown): number {
  return describe(err).status;
}

function describe(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof RegistryError) return { status: REGISTRY_ERRORS[err.code], code: err.code, message: err.message };
  if (isBerthError(err, 'not_found')) return { status: 404, code: 'NAME_UNKNOWN', message: err.message };
  if (err instanceof BerthError && err.kind === 'invalid_argument') return { status: 400, code: 'DIGEST_INVALID', message: err.message };
  return { status: 500, code: 'UNKNOWN', message: 'internal error: see the image-store log' };
}
