import { randomBytes, randomInt } from 'node:crypto';
import { invalidArgument } from '../../../libs/errors';

const ADJECTIVES = [
  'agile', 'bold', 'brave', 'calm', 'clever', 'eager', 'fond', 'gentle', 'happy', 'keen', 'kind', 'lucid', 'merry',
  'nimble', 'patient', 'quiet', 'quirky', 'sharp', 'steady', 'swift', 'tender', 'upbeat', 'vivid', 'wise', 'witty', 'zen',
];
const SCIENTISTS = [
  'babbage', 'bohr', 'curie', 'darwin', 'dijkstra', 'einstein', 'euler', 'faraday', 'fermi', 'galois', 'gauss', 'hopper',
  'hypatia', 'kepler', 'knuth', 'lamport', 'liskov', 'lovelace', 'maxwell', 'meitner', 'newton', 'noether', 'pascal',
  'ritchie', 'shannon', 'thompson', 'turing', 'wozniak',
];

/** A container id: 32 random bytes in hex, as Docker's. */
export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

/** A name like Docker's ("quirky_lovelace"); the caller retries on the rare clash. */
export function generatedName(attempt: number): string {
  const name = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SCIENTISTS[randomInt(SCIENTISTS.length)]}`;
  return attempt === 0 ? name : `${name}${attempt}`;
}

/** Docker's rule for names: a letter or digit, then letters, digits, "_", "." or "-". */
export function checkedName(name: string): string {
  const bare = name.replace(/^\//, '');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(bare) || bare.length > 128) {
    throw invalidArgument(`invalid container name "${name}": use [a-zA-Z0-9][a-zA-Z0-9_.-]+, at most 128 characters`);
  }
  return bare;
}
