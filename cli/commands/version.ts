import { VERSION } from '../../libs/version';
import { parseFlags } from '../args';

/** `berth version` */
export async function version(args: string[]): Promise<number> {
  parseFlags(args, {}, 'version');
  process.stdout.write(`berth ${VERSION}\n`);
  return 0;
}
