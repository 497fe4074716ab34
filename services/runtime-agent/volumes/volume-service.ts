import { unaryCall } from '../../../libs/grpc';
import type { volume } from '../../../libs/proto';

/** The volume service as the runtime-agent uses it: the uses and mounts of its containers' volumes. */
export class VolumeService {
  constructor(
    private readonly client: volume.VolumeServiceClient,
    private readonly endpoint: string,
  ) {}

  /** Records a container's use of a volume (made first if missing, or anonymous with an empty name). */
  async use(containerId: string, name: string, options: Record<string, string>, labels: Record<string, string>): Promise<volume.Volume> {
    const request = { containerId, name, createIfMissing: true, options, labels };
    const response = await unaryCall<volume.UseResponse>(this.endpoint, (m, o, cb) => this.client.use(request, m, o, cb));
    return response.volume!;
  }

  async release(containerId: string, name: string, removeAnonymous: boolean): Promise<void> {
    await unaryCall(this.endpoint, (m, o, cb) => this.client.release({ containerId, name, removeAnonymous }, m, o, cb));
  }

  /** The host directory to bind, filled from populateFrom if the volume is empty. */
  async mount(containerId: string, name: string, populateFrom: string): Promise<string> {
    const response = await unaryCall<volume.MountResponse>(this.endpoint, (m, o, cb) => this.client.mount({ containerId, name, populateFrom }, m, o, cb));
    return response.path;
  }

  async unmount(containerId: string, name: string): Promise<void> {
    await unaryCall(this.endpoint, (m, o, cb) => this.client.unmount({ containerId, name }, m, o, cb));
  }

  /** The containers that use this host's volumes: volume name and container id, one pair per use. */
  async uses(): Promise<{ name: string; containerId: string }[]> {
    const request = { filters: { dangling: { values: ['false'] } } };
    const response = await unaryCall<volume.ListResponse>(this.endpoint, (m, o, cb) => this.client.list(request, m, o, cb));
    return response.volumes.flatMap((found) => found.users.map((user) => ({ name: found.name, containerId: user.containerId })));
  }

  /** The nodes that hold volumes of these names. */
  async locate(names: string[]): Promise<{ name: string; node: string }[]> {
    const response = await unaryCall<volume.LocateResponse>(this.endpoint, (m, o, cb) => this.client.locate({ names }, m, o, cb));
    return response.locations;
  }
}
