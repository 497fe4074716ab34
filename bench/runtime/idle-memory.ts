import { setTimeout as sleep } from 'node:timers/promises';
import { mean, summarize } from '../stats';
import type { Row } from '../table';
import { inspectContainer, removeContainers, startContainers } from './containers';
import { conmonPids, pssBytes, rssBytes } from './memory';
import type { RuntimeBench } from './suite';

const COUNT = 20;
/** Lets the agent's and conmons' start-up allocations settle before they are weighed. */
const SETTLE_MS = 2_000;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

/**
 * What an idle container adds to the host beyond its own process: its conmon (RSS), and the agent's
 * RSS growth shared out evenly, for 20 `sleep 1000`, one sample per container; against the RSS of
 * each sleep itself.
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
    const conmonRss = conmons.map(rssBytes);
    const conmonPss = conmons.map(pssBytes);
    const sleepPids = await Promise.all(ids.map(async (id) => (await inspectContainer(bench, id)).state!.pid));
    return {
      id: 'runtime-idle-memory',
      name: `memory per idle container (${COUNT})`,
      unit: 'bytes',
      berth: summarize(conmonRss.map((rss) => rss + agentGrowth / COUNT)),
      floor: summarize(sleepPids.map(rssBytes)),
      floorName: 'RSS of the sleep',
      detail: `conmon ${mib(mean(conmonRss))} RSS (${mib(mean(conmonPss))} PSS) + agent ${mib(agentGrowth / COUNT)} (${mib(agentGrowth)} for ${COUNT}), means`,
    };
  } finally {
    await removeContainers(bench, ids);
  }
}
