import { join } from 'node:path';
import { imagestore } from '../../libs/proto';
import { runService } from '../../libs/service';
import type { Telemetry } from '../../libs/telemetry';
import { imageStoreHandlers } from './grpc/handlers';

export function main(telemetry: Telemetry): Promise<void> {
  return runService(
    {
      name: 'image-store',
      schema: 'images',
      migrationsDir: join(__dirname, 'store', 'migrations'),
      services: (context) => [
        {
          name: 'berth.imagestore.v1.ImageStoreService',
          definition: imagestore.ImageStoreServiceService,
          implementation: imageStoreHandlers(context),
        },
      ],
    },
    telemetry,
  );
}
