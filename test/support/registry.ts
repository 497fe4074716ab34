import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { writeOciLayout, type TestImage } from './images';
import { freePort } from './nats';

export interface TestRegistry {
  /** host:port on loopback: "127.0.0.1:40123". */
  host: string;
  stop(): Promise<void>;
}

/**
 * Debian's docker-registry (distribution 2.8) on a loopback port, storing in a temporary directory;
 * with basic authentication (htpasswd, bcrypt) when a user is given.
 */
export async function startRegistry(options: { user?: { name: string; password: string } } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-test-registry-'));
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (options.user !== undefined) {
    const htpasswd = execFileSync('htpasswd', ['-Bbn', options.user.name, options.user.password], { encoding: 'utf8' });
    writeFileSync(join(dir, 'htpasswd'), htpasswd);
    lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${join(dir, 'htpasswd')}`);
  }
  writeFileSync(join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const response = await fetch(`http://${host}/v2/`);
      await response.body?.cancel();
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`docker-registry did not start:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    host,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Puts images into a registry under REPOSITORY:TAG with skopeo, the reference implementation: one
 * image as its manifest, several as an index. Returns the digest the tag names.
 */
export function seedRegistry(t: TestContext, host: string, repositoryTag: string, images: TestImage[], credentials?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-oci-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const digest = writeOciLayout(dir, 'seed', images);
  skopeoCopy(`oci:${dir}:seed`, `docker://${host}/${repositoryTag}`, { all: images.length > 1, credentials });
  return digest;
}

/** Copies an image with skopeo (the reference implementation here): oci:DIR:TAG, docker://HOST/REPO:TAG, ... */
export function skopeoCopy(source: string, destination: string, options: { all?: boolean; credentials?: string } = {}): void {
  execFileSync(
    'skopeo',
    [
      '--insecure-policy',
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      ...(options.all ? ['--all'] : []),
      ...(options.credentials ? ['--dest-creds', options.credentials, '--src-creds', options.credentials] : []),
      source,
      destination,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

/** What a registry serves for a manifest: its digest and media type. */
export async function registryManifest(host: string, repository: string, reference: string, authorization?: string): Promise<{ digest: string; mediaType: string; body: Buffer }> {
  const response = await fetch(`http://${host}/v2/${repository}/manifests/${reference}`, {
    headers: {
      accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json',
      ...(authorization ? { authorization } : {}),
    },
  });
  if (!response.ok) throw new Error(`registry answered ${response.status} for ${repository}:${reference}`);
  return { digest: response.headers.get('docker-content-digest')!, mediaType: response.headers.get('content-type')!, body: Buffer.from(await response.arrayBuffer()) };
}
