import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { activeTraceIds } from '../tracing';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** The service or command that logs. */
  name: string;
  level?: string;
  /** auto: human lines on a terminal, JSON otherwise. */
  format?: 'auto' | 'json' | 'pretty';
  /** Fields on every line (node, ...). */
  base?: Record<string, unknown>;
  /** Where JSON lines go; standard output by default. */
  destination?: NodeJS.WritableStream;
}

/**
 * A structured logger: one JSON object a line, with the active trace and span ids on every line
 * written inside a trace, so logs and traces join on trace_id.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stdout;
  const human =
    options.format === 'pretty' ||
    (options.format !== 'json' && (destination as NodeJS.WriteStream).isTTY === true);
  const settings: pino.LoggerOptions = {
    level: options.level ?? 'info',
    base: { service: options.name, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => activeTraceIds() ?? {},
  };
  if (human) {
    return pino(settings, pretty({ destination, sync: true, ignore: 'pid,hostname,service,node', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return pino(settings, destination);
}

/** Formats JSON log lines for a person, as `berth up` does with its services' output. */
export function humanLogFormatter(): (line: string) => string {
  const format = pretty.prettyFactory({ colorize: process.stdout.isTTY === true, ignore: 'pid,hostname,service,node', translateTime: 'SYS:HH:MM:ss.l' });
  return (line) => {
    try {
      return format(JSON.parse(line));
    } catch {
      return `${line}\n`;
    }
  };
}
