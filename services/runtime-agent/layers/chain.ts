import { createHash } from 'node:crypto';

/**
 * The chain ids of a stack of layers (image-spec config.md): ChainID(L0) = DiffID(L0), and
 * ChainID(L0..Ln) = sha256("ChainID(L0..Ln-1) DiffID(Ln)"). A chain id names a layer together with
 * everything under it, so equal chain ids can share one unpacked directory.
 */
export function chainIds(diffIds: string[]): string[] {
  const chain: string[] = [];
  for (const diffId of diffIds) {
    const parent = chain.at(-1);
    chain.push(parent === undefined ? diffId : `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`);
  }
  return chain;
}
