import { open, stat } from 'node:fs/promises';
import { parseK8sLog } from '../oci';
import type { RuntimeContext } from './context';
import { findLocalContainer } from './lookup';
import { ACTIVE_STATES } from './model';
import { containerPaths } from './paths';

export interface LogOptions {
  follow: boolean;
  /** The last lines only; 0 for all. */
  tail: number;
  since?: Date;
  until?: Date;
  stdout: boolean;
  stderr: boolean;
}

export interface LogLine {
  time: Date;
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/** How often a followed log is read again when nothing said it changed. */
const FOLLOW_POLL_MS = 100;

/**
 * A container's log as conmon keeps it (k8s-file lines). Following reads on until the container is
 * no longer running and the log has nothing more; a log that conmon started over (at its size cap)
 * is read again from its start.
 */
export async function* containerLogs(context: RuntimeContext, text: string, options: LogOptions, signal?: AbortSignal): AsyncGenerator<LogLine> {
  const container = await findLocalContainer(context, text);
  const path = containerPaths(context.stateDir, container.id).log;
  const wanted = (line: LogLine) =>
    (line.stream === 'stdout' ? options.stdout : options.stderr) &&
    (options.since === undefined || line.time >= options.since) &&
    (options.until === undefined || line.time < options.until);

  let offset = 0;
  const readNew = async (): Promise<LogLine[]> => {
    const size = await stat(path).then((s) => s.size, () => 0);
    if (size < offset) offset = 0;
    if (size === offset) return [];
    const file = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(size - offset);
      await file.read(buffer, 0, buffer.length, offset);
      // Only whole lines: conmon may be in the middle of writing the last one.
      const end = buffer.lastIndexOf(0x0a) + 1;
      offset += end;
      return parseK8sLog(buffer.subarray(0, end).toString()).map((l) => ({
        time: new Date(l.time),
        stream: l.stream,
        data: Buffer.from(`${l.line}\n`),
      }));
    } finally {
      await file.close();
    }
  };

  const first = (await readNew()).filter(wanted);
  for (const line of options.tail > 0 ? first.slice(-options.tail) : first) yield line;
  if (!options.follow) return;

  for (;;) {
    if (signal?.aborted) return;
    const current = await context.repository.get(container.id);
    const running = current !== undefined && ACTIVE_STATES.includes(current.state);
    const lines = await readNew();
    for (const line of lines) if (wanted(line)) yield line;
    if (!running && lines.length === 0) return;
    if (options.until !== undefined && Date.now() >= options.until.getTime()) return;
    await changeOrTimeout(context, container.id, FOLLOW_POLL_MS, signal);
  }
}

/** Waits for the container's next change, at most ms. */
async function changeOrTimeout(context: RuntimeContext, id: string, ms: number, signal?: AbortSignal): Promise<void> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  const onAbort = () => abort.abort();
  signal?.addEventListener('abort', onAbort);
  await context.watch.until(id, () => true, abort.signal).catch(() => undefined);
  clearTimeout(timer);
  signal?.removeEventListener('abort', onAbort);
}
