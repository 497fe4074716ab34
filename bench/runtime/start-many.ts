import { summarize, timed } from '../stats';
import type { Row } from '../table';
import { removeContainers, startContainers } from './containers';
import type { RuncFloor } from './floor';
import type { RuntimeBench } from './suite';

const COUNT = 50;

/**
 * 50 `sleep 1000` containers started at once through the gRPC API (create then start each), until
 * every start has answered (the container runs), against 50 concurrent `runc run -d`.
 */
export async function benchStartMany(bench: RuntimeBench, floor: RuncFloor): Promise<Row> {
  const [ids, berthTime] = await timed(() => startContainers(bench, COUNT, ['sleep', '1000']));
  const [, removeTime] = await timed(() => removeContainers(bench, ids));

  const floorIds = Array.from({ length: COUNT }, (_, i) => `bench-floor-many-${i}`);
  for (const id of floorIds) floor.bundle(id, ['sleep', '1000']);
  const [, floorTime] = await timed(() => Promise.all(floorIds.map((id) => floor.runDetached(id))));
  const [, floorRemoveTime] = await timed(() => Promise.all(floorIds.map((id) => floor.delete(id))));
  return {
    id: 'runtime-start-50',
    name: `${COUNT} containers started at once (gRPC)`,
    unit: 's',
    berth: summarize([berthTime]),
    floor: summarize([floorTime]),
    floorName: `${COUNT} × runc run -d`,
    detail: `all running; then removed (force) in ${removeTime.toFixed(3)} s vs runc delete --force ${floorRemoveTime.toFixed(3)} s`,
  };
}
