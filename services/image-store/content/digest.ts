import { createHash } from 'node:crypto';
import { invalidArgument } from '../../../libs/errors';

const SHA256 = /^sha256:[a-f0-9]{64}$/;

export function isDigest(value: string): boolean {
  return SHA256.test(value);
}

/** Only sha256 digests are stored: anything else is refused before it names a file. */
export function assertDigest(value: string): void {
  if (!SHA256.test(value)) throw invalidArgument(`invalid digest "${value}": expected sha256: and 64 lowercase hex digits`);
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
