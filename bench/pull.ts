import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berth, buildImage, skopeoCopy, startRegistry, writeOciLayout } from '../test/support';
import type { SharedServices } from '../test/support/shared';
import { scoped } from './scope';
import { startBerth } from './services';
import { median, summarize, timed } from './stats';
import { ratioGoal, type Row } from './table';

const LAYERS = 4;
// Two 100 MB layers beside the image's busybox and small layers: ~200 MB in 4 layers.
const LAYER_BYTES = 100 * 1000 * 1000;
const RUNS = 3;

/**
 * Pull of a ~200 MB image in 4 layers from a loopback docker-registry: berth pull (CLI → image-store,
 * every blob verified and stored) against skopeo copy of the same image to a local directory.
 */
export function benchPull(shared: SharedServices): Promise<Row> {
  return scoped(async (defer) => {
    const work = mkdtempSync(join(tmpdir(), 'berth-bench-pull-'));
    defer(() => rmSync(work, { recursive: true, force: true }));
    const registry = await startRegistry();
    defer(() => registry.stop());
    // Random bytes do not compress: the big layers stay ~100 MB as blobs.
    const image = await buildImage(
      { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' },
      { extraLayers: Array.from({ length: LAYERS - 2 }, (_, i) => [{ path: `data-${i}.bin`, type: 'file' as const, content: randomBytes(LAYER_BYTES) }]) },
    );
    const layout = join(work, 'layout');
    writeOciLayout(layout, 'bench', [image]);
    skopeoCopy(`oci:${layout}:bench`, `docker://${registry.host}/bench/big:1`);
    const bytes = image.layers.reduce((sum, l) => sum + l.blob.length, 0);
    const { env } = await startBerth(shared, ['image-store'], defer);

    const berthTimes: number[] = [];
    const skopeoTimes: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const [pulled, pullTime] = await timed(() => berth(['pull', '-q', `${registry.host}/bench/big:1`], env, 300_000));
      if (pulled.code !== 0) throw new Error(`berth pull failed: ${pulled.stderr}`);
      berthTimes.push(pullTime);
      // Forced: no runtime-agent runs here to say that no container uses the image. Checked: an image
      // left behind would make the next pull a no-op.
      const removed = await berth(['rmi', '-f', `${registry.host}/bench/big:1`], env);
      if (removed.code !== 0) throw new Error(`berth rmi failed: ${removed.stderr}`);

      const target = join(work, `skopeo-${run}`);
      const [, copyTime] = await timed(async () =>
        execFileSync('skopeo', ['--insecure-policy', 'copy', '--src-tls-verify=false', `docker://${registry.host}/bench/big:1`, `dir:${target}`], { stdio: 'ignore' }),
      );
      skopeoTimes.push(copyTime);
      rmSync(target, { recursive: true, force: true });
    }
    const megabytes = bytes / 1e6;
    const row: Row = {
      id: 'pull',
      name: `pull ${Math.round(megabytes)} MB in ${LAYERS} layers`,
      unit: 's',
      berth: summarize(berthTimes),
      floor: summarize(skopeoTimes),
      floorName: 'skopeo copy to dir',
      detail: `${(megabytes / median(berthTimes)).toFixed(0)} MB/s (median of ${RUNS})`,
    };
    // The goal: a pull at least as fast as skopeo's.
    return { ...row, goal: ratioGoal(row, 1) };
  });
}
