import type { PoolClient } from '../../../libs/db';
import type { RuntimeContext } from './context';
import type { Container } from './model';

export type ContainerAction =
  | 'create' | 'start' | 'pause' | 'unpause' | 'kill' | 'die' | 'stop' | 'restart' | 'oom' | 'destroy' | 'rename'
  | 'exec_create' | 'exec_start' | 'exec_die' | 'health_status' | 'commit' | 'update';

/** Records a container event in the same transaction as the change, with Docker's attributes. */
export async function recordEvent(
  context: RuntimeContext,
  client: PoolClient,
  container: Container,
  action: ContainerAction,
  extra: Record<string, string> = {},
): Promise<void> {
  await context.events.append(client, {
    type: 'container',
    action,
    actorId: container.id,
    attributes: { ...container.spec.labels, name: container.name, image: container.imageName, ...extra },
  });
}
