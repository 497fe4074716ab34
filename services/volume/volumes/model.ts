/** A volume as the service keeps it: its row and the containers that use it. */
export interface Volume {
  name: string;
  node: string;
  driver: 'local';
  labels: Record<string, string>;
  /** The local driver's options: none, or type, device and o. */
  options: Record<string, string>;
  anonymous: boolean;
  createdAt: Date;
  users: VolumeUser[];
}

/** A container that uses a volume, from its creation to its removal. */
export interface VolumeUser {
  containerId: string;
  /** It runs with the volume mounted. */
  mounted: boolean;
}

/** What a new volume is made with. */
export interface VolumeRequest {
  name: string;
  driver: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  anonymous: boolean;
}
