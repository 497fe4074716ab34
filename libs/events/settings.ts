/** Where events go: the JetStream stream, its subjects and its limits (config section `events`). */
export interface EventSettings {
  stream: string;
  subjectPrefix: string;
  maxAgeSeconds: number;
  maxBytes: number;
  duplicateWindowSeconds: number;
  /** Copies of the stream on a NATS cluster (1 on a single server). */
  replicas: number;
}
