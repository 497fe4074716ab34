import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { checkHealth } from '../libs/grpc';
import { berth, berthEnvironment, buildImage, eventually, serviceEntry, skopeoCopy, startRegistry, writeOciLayout } from '../test/support';
import { startSharedServices } from '../test/support/shared';

const LAYERS = 4;
// Two 100 MB layers beside the image's busybox and small layers: ~200 MB in 4 layers.
const LAYER_BYTES = 100 * 1000 * 1000;
const RUNS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * Pull of a ~200 MB image in 4 layers from a loopback docker-registry: berth pull (CLI → image-store,
 * every blob verified and stored) against skopeo copy of the same image to a local directory.
 */
export async function benchPull() {
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const services = await startSharedServices();
  const registry = await startRegistry();
  try {
    // Random bytes do not compress: the big layers stay ~100 MB as blobs.
    const image = await buildImage(
      { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' },
      { extraLayers: Array.from({ length: LAYERS - 2 }, (_, i) => [{ path: `data-${i}.bin`, type: 'file' as const, content: randomBytes(LAYER_BYTES) }]) },
    );
    const layout = join(work, 'layout');
    writeOciLayout(layout, 'bench', [image]);
    skopeoCopy(`oci:${layout}:bench`, `docker://${registry.host}/bench/big:1`);
    const bytes = image.layers.reduce((sum, l) => sum + l.blob.length, 0);

    const database = `bench_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: services.postgresAdminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(services.postgresAdminUrl);
    url.pathname = `/${database}`;
    const env = berthEnvironment({
      BERTH_STATE_DIR: join(work, 'state'),
      BERTH_RUN_DIR: join(work, 'run'),
      BERTH_POSTGRES_URL: url.toString(),
      BERTH_NATS_URL: services.natsUrl,
      BERTH_LOG_LEVEL: 'warn',
    });
    const store = spawn(process.execPath, [serviceEntry('image-store')], { env, stdio: 'ignore' });
    try {
      const endpoint = `unix://${join(work, 'run', 'image-store.sock')}`;
      await eventually(async () => ((await checkHealth(endpoint, { deadlineMs: 500 }).catch(() => undefined)) === 'SERVING' ? true : undefined), 30_000, 'the image-store');

      const berthTimes: number[] = [];
      const skopeoTimes: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        let start = process.hrtime.bigint();
        const pulled = await berth(['pull', '-q', `${registry.host}/bench/big:1`], env, 300_000);
        berthTimes.push(seconds(start));
        if (pulled.code !== 0) throw new Error(`berth pull failed: ${pulled.stderr}`);
        await berth(['rmi', `${registry.host}/bench/big:1`], env);

        const target = join(work, `skopeo-${run}`);
        start = process.hrtime.bigint();
        execFileSync('skopeo', ['--insecure-policy', 'copy', '--src-tls-verify=false', `docker://${registry.host}/bench/big:1`, `dir:${target}`], { stdio: 'ignore' });
        skopeoTimes.push(seconds(start));
        rmSync(target, { recursive: true, force: true });
      }
      const berthTime = median(berthTimes);
      const megabytes = bytes / 1e6;
      return {
        name: `pull ${Math.round(megabytes)} MB in ${LAYERS} layers`,
        berth: berthTime,
        floor: median(skopeoTimes),
        floorName: 'skopeo copy to dir',
        detail: `${(megabytes / berthTime).toFixed(0)} MB/s, median of ${RUNS}`,
      };
    } finally {
      store.kill('SIGTERM');
    }
  } finally {
    await registry.stop();
    await services.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
