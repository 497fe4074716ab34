import { cpus, hostname, release, totalmem } from 'node:os';
import type { BerthClient } from '../../../client';
import { VERSION } from '../../../libs/version';
import { API_VERSION, MIN_API_VERSION, sendJson, type Router } from '../http/router';

/** /_ping, /version and /info: what a client asks first, to learn the API version and the host. */
export function systemRoutes(router: Router, berth: BerthClient): void {
  router.on('GET', '/_ping', async ({ request, response }) => {
    const headers = { 'Api-Version': API_VERSION, 'Docker-Experimental': 'false', 'Ostype': 'linux', 'Cache-Control': 'no-cache, no-store, must-revalidate', 'Content-Type': 'text/plain; charset=utf-8' };
    response.writeHead(200, headers);
    response.end(request.method === 'HEAD' ? undefined : 'OK');
  });

  router.on('GET', '/version', async ({ response }) => {
    const { info } = await berth.runtime.call('info', {});
    sendJson(response, 200, {
      Platform: { Name: 'Berth' },
      Components: [{ Name: 'Engine', Version: VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Node: info?.node ?? '' } }],
      Version: VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: release(),
      GoVersion: process.version,
      GitCommit: '',
      BuildTime: '',
    });
  });

  router.on('GET', '/info', async ({ response }) => {
    const [{ containers }, { images }] = await Promise.all([berth.runtime.call('list', { all: true, filters: {} }), berth.images.call('list', { filters: {}, all: false })]);
    const count = (state: string) => containers.filter((c) => c.state === state).length;
    const { info } = await berth.runtime.call('info', {});
    sendJson(response, 200, {
      ID: info?.node ?? hostname(),
      Name: info?.node ?? hostname(),
      Containers: containers.length,
      ContainersRunning: count('running'),
      ContainersPaused: count('paused'),
      ContainersStopped: containers.length - count('running') - count('paused'),
      Images: images.length,
      Driver: 'overlay2',
      DockerRootDir: info?.stateRoot ?? '',
      OperatingSystem: 'Berth',
      OSType: 'linux',
      Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
      KernelVersion: release(),
      NCPU: cpus().length,
      MemTotal: totalmem(),
      ServerVersion: VERSION,
      CgroupDriver: 'cgroupfs',
      DefaultRuntime: 'runc',
      Runtimes: { runc: { path: 'runc' } },
      SecurityOptions: ['name=seccomp,profile=builtin'],
      Labels: [],
      Warnings: [],
    });
  });
}

function goArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch;
}
