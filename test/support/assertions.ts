import assert from 'node:assert/strict';
import { isBerthError, type ErrorKind } from '../../libs/errors';

/** Asserts that a call fails with a Berth error of this kind, its message matching. */
export async function rejectsWith(promise: Promise<unknown>, kind: ErrorKind, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isBerthError(err, kind), String(err));
    assert.match(err.message, message);
    return true;
  });
}
