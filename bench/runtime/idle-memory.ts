import { setTimeout as sleep } from 'node:timers/promises';
import type { Row } from '../table';
import { inspectContainer, removeContainers, startContainers } from './containers';
import { conmonPids, pssBytes, rssBytes } from './memory';
import type { RuntimeBench } from './suite';

const COUNT = 20;
/** Lets the agent's and conmons' start-up allocations settle before they are weighed. */
const SETTLE_MS = 2_000;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

/**
 * What an idle container adds to the host beyond its own process: its conmon, and the agent's growth
 * (both RSS), per container, for 20 `sleep 1000`; against the RSS of the sleep itself.
 */
export async function benchIdleMemory(bench: RuntimeBench): Promise<Row> {
  const agentPid = bench.berth.pid('runtime-agent');
  const agentBefore = rssBytes(agentPid);
  const ids = await startContainers(bench, COUNT, ['sleep', '1000']);
  try {
    await sleep(SETTLE_MS);
    const agentGrowth = rssBytes(agentPid) - agentBefore;
    const conmons = conmonPids(bench.berth.stateDir);
    if (conmons.length !== COUNT) throw new Error(`found ${conmons.length} conmon processes for ${COUNT} containers`);
    const conmonRss = sum(conmons.map(rssBytes));
    const conmonPss = sum(conmons.map(pssBytes));
    const sleepPids = await Promise.all(ids.map(async (id) => (await inspectContainer(bench, id)).state!.pid));
    const sleepRss = sum(sleepPids.map(rssBytes));
    return {
      name: `memory per idle container (${COUNT})`,
      berth: (conmonRss + agentGrowth) / COUNT,
      floor: sleepRss / COUNT,
      floorName: 'RSS of the sleep',
      unit: 'bytes',
      detail: `conmon ${mib(conmonRss / COUNT)} RSS (${mib(conmonPss / COUNT)} PSS) + agent ${mib(agentGrowth / COUNT)} (${mib(agentGrowth)} for ${COUNT})`,
    };
  } finally {
    await removeContainers(bench, ids);
  }
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
