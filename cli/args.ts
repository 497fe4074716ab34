import { parseArgs, type ParseArgsConfig } from 'node:util';
import { invalidArgument } from '../libs/errors';

/** node:util's parseArgs, with its errors turned into one line for the user. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, command: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw invalidArgument(`${command}: ${(err as Error).message}`);
  }
}
