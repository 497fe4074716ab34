import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * W3C trace context for the calls of one command. A command continues the trace in TRACEPARENT (so a
 * script can tie Berth's work to its own trace) or starts a new one. Written by hand rather than with
 * the OpenTelemetry SDK, whose start-up would cost the command line more than its whole run.
 */
export function commandTrace(env: NodeJS.ProcessEnv = process.env): { traceId: string; metadata: () => Metadata } {
  const inherited = TRACEPARENT.exec(env.TRACEPARENT ?? '');
  const traceId = inherited?.[1] ?? randomBytes(16).toString('hex');
  const flags = inherited?.[3] ?? '01';
  const spanId = randomBytes(8).toString('hex');
  return {
    traceId,
    metadata: () => {
      const metadata = new Metadata();
      metadata.set('traceparent', `00-${traceId}-${spanId}-${flags}`);
      return metadata;
    },
  };
}
