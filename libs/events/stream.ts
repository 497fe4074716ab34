import { nanos, RetentionPolicy, StorageType, type NatsConnection, type StreamConfig } from 'nats';
import type { EventSettings } from './settings';

/** The stream's wanted configuration, from the config section `events`. */
export function streamConfig(settings: EventSettings): Partial<StreamConfig> & { name: string } {
  return {
    name: settings.stream,
    subjects: [`${settings.subjectPrefix}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: nanos(settings.maxAgeSeconds * 1000),
    max_bytes: settings.maxBytes,
    duplicate_window: nanos(duplicateWindowSeconds(settings) * 1000),
    num_replicas: settings.replicas,
  };
}

/**
 * JetStream refuses a duplicate window longer than the stream's max age; an event id is not kept
 * longer than its event anyway, so a shorter max age (0 is none) bounds the window.
 */
function duplicateWindowSeconds(settings: EventSettings): number {
  return settings.maxAgeSeconds > 0 ? Math.min(settings.duplicateWindowSeconds, settings.maxAgeSeconds) : settings.duplicateWindowSeconds;
}

/** Creates the events stream, or brings its limits to the configured ones. */
export async function ensureStream(nc: NatsConnection, settings: EventSettings): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const wanted = streamConfig(settings);
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(settings.stream)).config;
  } catch (err) {
    if (!/stream not found/i.test((err as Error).message)) throw err;
    await jsm.streams.add(wanted);
    return;
  }
  const differs =
    current.max_age !== wanted.max_age ||
    current.max_bytes !== wanted.max_bytes ||
    current.duplicate_window !== wanted.duplicate_window ||
    current.num_replicas !== wanted.num_replicas ||
    !current.subjects.includes(wanted.subjects![0]!);
  if (differs) {
    await jsm.streams.update(settings.stream, {
      ...current,
      subjects: [...new Set([...current.subjects, ...wanted.subjects!])],
      max_age: wanted.max_age!,
      max_bytes: wanted.max_bytes!,
      duplicate_window: wanted.duplicate_window!,
      num_replicas: wanted.num_replicas!,
    });
  }
}
