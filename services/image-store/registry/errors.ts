import { BerthError, type ErrorKind } from '../../../libs/errors';

/** A registry's answer as a BerthError: its own error message when it sent one (distribution spec errors). */
export async function registryError(response: Response, what: string): Promise<BerthError> {
  let detail = '';
  try {
    const body = (await response.json()) as { errors?: Array<{ code?: string; message?: string }> };
    detail = (body.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  } catch {
    // not a JSON error body
  }
  const kind: ErrorKind =
    response.status === 401
      ? 'unauthenticated'
      : response.status === 403
        ? 'permission_denied'
        : response.status === 404
          ? 'not_found'
          : response.status === 400 || response.status === 405
            ? 'invalid_argument'
            : response.status === 429
              ? 'resource_exhausted'
              : 'unavailable';
  return new BerthError(kind, `${what}: ${describeStatus(response.status)}${detail === '' ? '' : ` (${detail})`}`);
}

function describeStatus(status: number): string {
  if (status === 401) return 'authentication required (401): log in with `berth login`';
  if (status === 403) return 'access denied (403)';
  if (status === 404) return 'not found (404)';
  if (status >= 500) return `the registry failed (${status})`;
  return `the registry answered ${status}`;
}

/** True for answers worth asking again: the registry was busy or failed. */
export function isTransient(status: number): boolean {
  return status === 429 || status >= 500;
}
