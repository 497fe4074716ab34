import { join } from 'node:path';
import { serviceEndpoint } from '../../libs/config';
import { runtime } from '../../libs/proto';
import { binaryDependency, runService, serviceDependency } from '../../libs/service';
import type { Telemetry } from '../../libs/telemetry';
import { runtimeHandlers } from './grpc/handlers';

export function main(telemetry: Telemetry): Promise<void> {
  return runService(
    {
      name: 'runtime-agent',
      schema: 'runtime',
      migrationsDir: join(__dirname, 'store', 'migrations'),
      services: (context) => [
        { name: 'berth.runtime.v1.RuntimeService', definition: runtime.RuntimeServiceService, implementation: runtimeHandlers(context) },
      ],
      dependencies: ({ config, clientOptions }) => [
        serviceDependency('image-store', serviceEndpoint(config, 'image-store'), clientOptions),
        serviceDependency('volume', serviceEndpoint(config, 'volume'), clientOptions),
        binaryDependency('runc', config.runtime.runc),
        binaryDependency('conmon', config.runtime.conmon),
      ],
    },
    telemetry,
  );
}
