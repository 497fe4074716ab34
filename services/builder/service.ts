import { join } from 'node:path';
import { serviceEndpoint } from '../../libs/config';
import { builder } from '../../libs/proto';
import { runService, serviceDependency } from '../../libs/service';
import type { Telemetry } from '../../libs/telemetry';
import { builderHandlers } from './grpc/handlers';

export function main(telemetry: Telemetry): Promise<void> {
  return runService(
    {
      name: 'builder',
      schema: 'builds',
      migrationsDir: join(__dirname, 'store', 'migrations'),
      services: (context) => [
        { name: 'berth.builder.v1.BuilderService', definition: builder.BuilderServiceService, implementation: builderHandlers(context) },
      ],
      dependencies: ({ config, clientOptions }) => [
        serviceDependency('image-store', serviceEndpoint(config, 'image-store'), clientOptions),
        serviceDependency('runtime-agent', serviceEndpoint(config, 'runtime-agent'), clientOptions),
      ],
    },
    telemetry,
  );
}
