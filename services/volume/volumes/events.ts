import type { PoolClient } from '../../../libs/db';
import type { VolumeContext } from './context';
import type { Volume } from './model';

export type VolumeAction = 'create' | 'mount' | 'unmount' | 'destroy';

/** Records a volume event in the same transaction as the change, with Docker's attributes. */
export async function recordEvent(context: VolumeContext, client: PoolClient, volume: Volume, action: VolumeAction, extra: Record<string, string> = {}): Promise<void> {
  await context.events.append(client, { type: 'volume', action, actorId: volume.name, attributes: { ...volume.labels, driver: volume.driver, ...extra } });
}
