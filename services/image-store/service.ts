import { join } from 'node:path';
import { metrics } from '@opentelemetry/api';
import { serviceEndpoint } from '../../libs/config';
import { failedPrecondition, messageOf } from '../../libs/errors';
import { createClient, unaryCall } from '../../libs/grpc';
import { imagestore, runtime } from '../../libs/proto';
import { directoryDependency, runService } from '../../libs/service';
import type { Telemetry } from '../../libs/telemetry';
import { ContentStore, Leases } from './content';
import { GcLock } from './images';
import { imageStoreHandlers } from './grpc/handlers';
import { startRegistryServer } from './registry-server/server';
import { ImageRepository } from './store/repository';

/** How long rmi waits for a runtime-agent that is (re)connecting before it gives up. */
const USAGE_WAIT_MS = 5_000;

export function main(telemetry: Telemetry): Promise<void> {
  return runService(
    {
      name: 'image-store',
      schema: 'images',
      migrationsDir: join(__dirname, 'store', 'migrations'),
      services: async (context) => {
        const runtimeEndpoint = serviceEndpoint(context.config, 'runtime-agent');
        const runtimeAgent = createClient(runtime.RuntimeServiceClient, runtimeEndpoint, context.clientOptions);
        context.onStop(async () => runtimeAgent.close());
        const content = new ContentStore(join(context.config.stateDir, 'content'));
        await content.init();
        metrics
          .getMeter('berth-image-store')
          .createObservableGauge('berth_image_store_bytes', { description: 'The bytes of the blobs the image-store holds', unit: 'By' })
          .addCallback(async (result) => result.observe(await content.totalBytes()));
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
          containersUsing: async (imageId: string) => {
            try {
              const usage = await unaryCall<runtime.ImageUsageResponse>(runtimeEndpoint, (m, o, cb) => {
                m.setOptions({ waitForReady: true });
                return runtimeAgent.imageUsage({ imageId }, m, { ...o, deadline: Date.now() + USAGE_WAIT_MS }, cb);
              });
              return usage.containers;
            } catch (err) {
              // Without the runtime-agent nobody can tell: refuse rather than pull an image from under a container.
              throw failedPrecondition(`cannot tell whether containers use image ${imageId.slice(7, 19)}: ${messageOf(err)}; force the removal to go ahead`);
            }
          },
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
