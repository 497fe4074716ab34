import { join } from 'node:path';
import { metrics } from '@opentelemetry/api';
import { agentAdvertiseAddress, serviceEndpoint } from '../../libs/config';
import { createClient } from '../../libs/grpc';
import { imagestore, network, node, runtime, volume } from '../../libs/proto';
import { VERSION } from '../../libs/version';
import { binaryDependency, directoryDependency, runService, serviceDependency } from '../../libs/service';
import type { Telemetry } from '../../libs/telemetry';
import { KeyedLock } from '../../libs/lock';
import { collectLayers, ContainerWatch, ExitMonitor, findContainer, reconcile, type RuntimeContext } from './containers';
import { runtimeHandlers } from './grpc/handlers';
import { ImageStore } from './images';
import { LayerStore } from './layers';
import { NetworkManager } from './network';
import { networkHandlers } from './grpc/network-handlers';
import { nodeHandlers } from './grpc/node-handlers';
import { NodeRegistry } from './nodes/registry';
import { NodeRouter } from './nodes/router';
import { OciRuntime } from './oci';
import { NetworkRepository } from './store/networks';
import { ContainerRepository } from './store/repository';
import { VolumeService } from './volumes';

const LAYER_COLLECTION_INTERVAL_MS = 10 * 60 * 1000;

export function main(telemetry: Telemetry): Promise<void> {
  return runService(
    {
      name: 'runtime-agent',
      schema: 'runtime',
      migrationsDir: join(__dirname, 'store', 'migrations'),
      services: async (service) => {
        const { config } = service;
        const imageStoreEndpoint = serviceEndpoint(config, 'image-store');
        const imageStore = createClient(imagestore.ImageStoreServiceClient, imageStoreEndpoint, service.clientOptions);
        const volumeEndpoint = serviceEndpoint(config, 'volume');
        const volumes = createClient(volume.VolumeServiceClient, volumeEndpoint, service.clientOptions);
        const layers = new LayerStore(join(config.stateDir, 'layers'));
        await layers.init();
        const networks = new NetworkManager(config.node, service.db, new NetworkRepository(service.db), service.events, config.network, service.logger);
        await networks.init();
        const nodes = new NodeRegistry(config.node, { endpoint: agentAdvertiseAddress(config), labels: config.nodeLabels, version: VERSION, bridge: config.network.bridgeName }, service.db, service.events, service.nats, config.events.subjectPrefix, service.logger);
        await nodes.register();
        const context: RuntimeContext = {
          node: config.node,
          db: service.db,
          repository: new ContainerRepository(service.db),
          events: service.events,
          logger: service.logger,
          runtime: new OciRuntime(config.runtime.runc, join(config.stateDir, 'runc')),
          conmon: config.runtime.conmon,
          layers,
          images: new ImageStore(imageStore, imageStoreEndpoint, layers),
          volumes: new VolumeService(volumes, volumeEndpoint),
          networks,
          nodes,
          stateDir: config.stateDir,
          attachDir: join(config.runDir, 'attach'),
          logSizeMax: config.runtime.logSizeMax,
          watch: new ContainerWatch(),
          locks: new KeyedLock(),
          timers: new Map(),
          healthTimers: new Map(),
        };
        metrics
          .getMeter('berth-runtime')
          .createObservableGauge('berth_containers', { description: "The node's containers, by state" })
          .addCallback(async (result) => {
            for (const [state, count] of await context.repository.countByState(config.node)) result.observe(count, { state });
          });
        // Containers outlive the agent: find them before answering anyone.
        await reconcile(context);
        const router = new NodeRouter(config.node, nodes, async (reference) => (await findContainer(context, reference)).node, service.clientOptions);
        const monitor = new ExitMonitor(context);
        await monitor.start();
        // Layers go when their last container does, and (found here) when their image left the image-store.
        const collect = () => void collectLayers(context).catch((err: unknown) => service.logger.warn({ err }, 'layer collection failed'));
        collect();
        const collector = setInterval(collect, LAYER_COLLECTION_INTERVAL_MS).unref();
        service.onStop(async () => {
          clearInterval(collector);
          monitor.stop();
          imageStore.close();
          volumes.close();
          await networks.close();
          nodes.stop();
          router.close();
        });
        return [
          { name: 'berth.runtime.v1.RuntimeService', definition: runtime.RuntimeServiceService, implementation: runtimeHandlers(service, context, router) },
          { name: 'berth.runtime.v1.NetworkService', definition: network.NetworkServiceService, implementation: networkHandlers(service, context) },
          { name: 'berth.runtime.v1.NodeService', definition: node.NodeServiceService, implementation: nodeHandlers(service, nodes) },
        ];
      },
      dependencies: ({ config, clientOptions }) => [
        serviceDependency('image-store', serviceEndpoint(config, 'image-store'), clientOptions),
        serviceDependency('volume', serviceEndpoint(config, 'volume'), clientOptions),
        binaryDependency('runc', config.runtime.runc),
        binaryDependency('conmon', config.runtime.conmon),
        binaryDependency('ip', 'ip', '-V'),
        binaryDependency('iptables', 'iptables'),
        directoryDependency('layers', join(config.stateDir, 'layers')),
      ],
    },
    telemetry,
  );
}
