import { join } from 'node:path';
import { volume } from '../../libs/proto';
import { runService } from '../../libs/service';
import type { Telemetry } from '../../libs/telemetry';
import { volumeHandlers } from './grpc/handlers';

export function main(telemetry: Telemetry): Promise<void> {
  return runService(
    {
      name: 'volume',
      schema: 'volumes',
      migrationsDir: join(__dirname, 'store', 'migrations'),
      services: (context) => [
        { name: 'berth.volume.v1.VolumeService', definition: volume.VolumeServiceService, implementation: volumeHandlers(context) },
      ],
    },
    telemetry,
  );
}
