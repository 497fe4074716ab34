import { join } from 'node:path';
import { serviceEndpoint } from '../../libs/config';
import { createClient } from '../../libs/grpc';
import { builder, imagestore, runtime } from '../../libs/proto';
import { runService, serviceDependency } from '../../libs/service';
import type { Telemetry } from '../../libs/telemetry';
import { ImageStore } from './adapters/image-store';
import { RuntimeAgent } from './adapters/runtime-agent';
import type { BuilderContext } from './build';
import { ContextStore } from './build/context-store';
import { builderHandlers } from './grpc/handlers';
import { CacheRepository } from './store/repository';

export function main(telemetry: Telemetry): Promise<void> {
  return runService(
    {
      name: 'builder',
      schema: 'builds',
      migrationsDir: join(__dirname, 'store', 'migrations'),
      services: (service) => {
        const { config } = service;
        const imageStoreEndpoint = serviceEndpoint(config, 'image-store');
        const runtimeEndpoint = serviceEndpoint(config, 'runtime-agent');
        const imageStore = createClient(imagestore.ImageStoreServiceClient, imageStoreEndpoint, service.clientOptions);
        const agent = createClient(runtime.RuntimeServiceClient, runtimeEndpoint, service.clientOptions);
        const context: BuilderContext = {
          imageStore: new ImageStore(imageStore, imageStoreEndpoint),
          runtime: new RuntimeAgent(agent, runtimeEndpoint),
          cache: new CacheRepository(service.db),
          logger: service.logger,
          workRoot: join(config.stateDir, 'builder'),
          contexts: new ContextStore(join(config.stateDir, 'builder', 'contexts')),
        };
        service.onStop(async () => {
          imageStore.close();
          agent.close();
        });
        return [{ name: 'berth.builder.v1.BuilderService', definition: builder.BuilderServiceService, implementation: builderHandlers(service, context) }];
      },
      dependencies: ({ config, clientOptions }) => [
        serviceDependency('image-store', serviceEndpoint(config, 'image-store'), clientOptions),
        serviceDependency('runtime-agent', serviceEndpoint(config, 'runtime-agent'), clientOptions),
      ],
    },
    telemetry,
  );
}
