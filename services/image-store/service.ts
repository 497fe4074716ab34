import { join } from 'node:path';
import { imagestore } from '../../libs/proto';
import { directoryDependency, runService } from '../../libs/service';
import type { Telemetry } from '../../libs/telemetry';
import { ContentStore, Leases } from './content';
import { GcLock } from './images';
import { imageStoreHandlers } from './grpc/handlers';
import { startRegistryServer } from './registry-server/server';
import { ImageRepository } from './store/repository';

export function main(telemetry: Telemetry): Promise<void> {
  return runService(
    {
      name: 'image-store',
      schema: 'images',
      migrationsDir: join(__dirname, 'store', 'migrations'),
      services: async (context) => {
        const content = new ContentStore(join(context.config.stateDir, 'content'));
        await content.init();
        const images = {
          db: context.db,
          repository: new ImageRepository(context.db),
          content,
          leases: new Leases(),
          gcLock: new GcLock(),
          events: context.events,
          logger: context.logger,
          insecureRegistries: context.config.registries.insecure,
          registryTimeoutMs: context.config.registries.timeoutSeconds * 1000,
        };
        const { registryServer } = context.config;
        if (registryServer.listen !== undefined) {
          const server = await startRegistryServer(images, { listen: registryServer.listen, tls: registryServer.tls });
          context.onStop(() => server.close());
        }
        return [
          {
            name: 'berth.imagestore.v1.ImageStoreService',
            definition: imagestore.ImageStoreServiceService,
            implementation: imageStoreHandlers(context, images),
          },
        ];
      },
      dependencies: ({ config }) => [directoryDependency('content', join(config.stateDir, 'content'))],
    },
    telemetry,
  );
}
