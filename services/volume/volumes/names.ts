import { randomBytes } from 'node:crypto';
import { invalidArgument } from '../../../libs/errors';

/** Docker's rule for volume names: no "/", no leading ".", so that a name is one safe directory name. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const MAX_NAME_LENGTH = 255;

export function checkedName(name: string): string {
  if (!VOLUME_NAME.test(name) || name.length > MAX_NAME_LENGTH) {
    throw invalidArgument(`invalid volume name "${name}": use 2 to 255 of [a-zA-Z0-9_.-], starting with a letter or digit`);
  }
  return name;
}

/** A name for a volume made without one: 64 hex digits, as Docker's. */
export function generatedName(): string {
  return randomBytes(32).toString('hex');
}
