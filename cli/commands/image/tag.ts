import { invalidArgument } from '../../../libs/errors';
import type { imagestore } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { imageStore } from '../../client';

/** `berth tag SOURCE TARGET` */
export async function tag(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, {}, 'tag');
  if (positionals.length !== 2) throw invalidArgument('tag: give SOURCE_IMAGE and TARGET_IMAGE[:TAG]');
  const store = imageStore();
  try {
    await store.call<imagestore.TagResponse>((m, o, cb) => store.client.tag({ source: positionals[0]!, target: positionals[1]! }, m, o, cb));
  } finally {
    store.close();
  }
  return 0;
}
