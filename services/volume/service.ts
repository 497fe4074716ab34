import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyedLock } from '../../libs/lock';
import { volume } from '../../libs/proto';
import { binaryDependency, directoryDependency, runService } from '../../libs/service';
import type { Telemetry } from '../../libs/telemetry';
import { volumeHandlers } from './grpc/handlers';
import { VolumeRepository } from './store/repository';
import type { VolumeContext } from './volumes';

export function main(telemetry: Telemetry): Promise<void> {
  return runService(
    {
      name: 'volume',
      schema: 'volumes',
      migrationsDir: join(__dirname, 'store', 'migrations'),
      services: async (service) => {
        const root = join(service.config.stateDir, 'volumes');
        // 0700: volume content keeps its owners' modes, and only root should reach it from the host.
        await mkdir(root, { recursive: true, mode: 0o700 });
        const context: VolumeContext = {
          node: service.config.node,
          db: service.db,
          repository: new VolumeRepository(service.db, service.config.node),
          events: service.events,
          logger: service.logger,
          root,
          locks: new KeyedLock(),
          transfers: new Map(),
        };
        return [{ name: 'berth.volume.v1.VolumeService', definition: volume.VolumeServiceService, implementation: volumeHandlers(service, context) }];
      },
      dependencies: ({ config }) => [
        binaryDependency('mount', 'mount'),
        binaryDependency('cp', 'cp'),
        directoryDependency('volumes', join(config.stateDir, 'volumes')),
      ],
    },
    telemetry,
  );
}
