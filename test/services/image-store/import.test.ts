import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { berth, busyboxLayer, startService } from '../../support';

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

interface Detail {
  summary: { id: string; repoTags: string[] };
  config: { cmd: string[]; env: string[]; exposedPorts: string[]; labels: Record<string, string>; workingDir: string; entrypoint: string[] };
  diffIds: string[];
  layers: Array<{ mediaType: string }>;
  history: Array<{ createdBy: string; comment: string }>;
}

test('import makes a one-layer image from a tarball, plain or gzip, with --change and --message', { timeout: 60_000 }, async (t) => {
  const store = await startService(t, 'image-store');
  const dir = mkdtempSync(join(tmpdir(), 'berth-import-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const layer = await busyboxLayer();
  const tar = gunzipSync(layer.blob);
  writeFileSync(join(dir, 'rootfs.tar'), tar);
  writeFileSync(join(dir, 'rootfs.tar.gz'), layer.blob);

  const imported = await berth(
    ['import', '-c', 'CMD ["sh", "-c", "echo hi"]', '-c', 'ENV A=1 B="two words"', '-c', 'EXPOSE 80', '-c', 'LABEL team=core', '-c', 'WORKDIR /srv', '-m', 'from a tarball', join(dir, 'rootfs.tar'), 'imported/app:1'],
    store.env,
  );
  assert.equal(imported.code, 0, imported.stderr);
  const id = imported.stdout.trim();
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  const inspected = await berth(['image', 'inspect', 'imported/app:1'], store.env);
  const detail = (JSON.parse(inspected.stdout) as Detail[])[0]!;
  assert.equal(detail.summary.id, id);
  assert.deepEqual(detail.config.cmd, ['sh', '-c', 'echo hi']);
  assert.deepEqual(detail.config.env, ['A=1', 'B=two words']);
  assert.deepEqual(detail.config.exposedPorts, ['80/tcp']);
  assert.deepEqual(detail.config.labels, { team: 'core' });
  assert.equal(detail.config.workingDir, '/srv');
  assert.deepEqual(detail.diffIds, [sha256(tar)], 'the diff id is the plain tar');
  assert.equal(detail.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  assert.deepEqual(detail.history.map((h) => [h.createdBy, h.comment]), [['berth import', 'from a tarball']]);

  const fromGzip = await berth(['import', '-c', 'ENTRYPOINT echo hello', join(dir, 'rootfs.tar.gz')], store.env);
  assert.equal(fromGzip.code, 0, fromGzip.stderr);
  const gz = (JSON.parse((await berth(['image', 'inspect', fromGzip.stdout.trim()], store.env)).stdout) as Detail[])[0]!;
  assert.deepEqual(gz.diffIds, [sha256(tar)]);
  assert.deepEqual(gz.config.entrypoint, ['/bin/sh', '-c', 'echo hello'], 'the shell form runs through /bin/sh -c');
  assert.deepEqual(gz.summary.repoTags ?? [], [], 'without a name the image is dangling');

  writeFileSync(join(dir, 'notes.txt'), 'not an archive '.repeat(100));
  const cases: Array<[string[], RegExp]> = [
    [[join(dir, 'notes.txt')], /not a tar archive/],
    [['-c', 'RUN echo no', join(dir, 'rootfs.tar')], /RUN is not allowed/],
    [['-c', 'CMD ["unterminated', join(dir, 'rootfs.tar')], /exec form must be a JSON array/],
  ];
  for (const [args, message] of cases) {
    const result = await berth(['import', ...args], store.env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, message);
  }
});
