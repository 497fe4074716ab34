/**
 * What the libs/grpc tests share: a VolumeService served by serve() on a unix socket in a temporary
 * directory, with an Info handler of the test's choosing, and a one-call client for it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { TestContext } from 'node:test';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { createClient, handlers, serve, unaryCall, type CallContext, type RunningServer, type TlsFiles } from '../../../libs/grpc';
import { createLogger, type Logger } from '../../../libs/logging';
import { descriptorSetPath, volume } from '../../../libs/proto';

export const VOLUME_SERVICE = 'berth.volume.v1.VolumeService';

export type InfoHandler = (request: volume.InfoRequest, context: CallContext) => Promise<volume.InfoResponse>;

/** A logger whose JSON lines the test can read back. */
export function capturingLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const logger = createLogger({ name: 'test', level: 'info', format: 'json', destination: stream });
  const lines = () =>
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines };
}

/** A temporary directory removed after the test. */
export function temporaryDirectory(t: TestContext, prefix = 'berth-grpc-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestServer {
  server: RunningServer;
  /** The first address served: a unix:// target unless the test chose others. */
  target: string;
  logs: () => Array<Record<string, unknown>>;
}

export interface TestServerOptions {
  /** Defaults to one unix socket, sockets/volume.sock in a fresh temporary directory. */
  addresses?: string[];
  tls?: TlsFiles;
}

/** Serves VolumeService with the given Info; shut down after the test. */
export async function startVolumeServer(t: TestContext, info: InfoHandler, options: TestServerOptions = {}): Promise<TestServer> {
  const addresses = options.addresses ?? [`unix://${join(temporaryDirectory(t), 'sockets', 'volume.sock')}`];
  const { logger, lines } = capturingLogger();
  const server = await serve({
    service: 'volume',
    addresses,
    tls: options.tls,
    services: [{ name: VOLUME_SERVICE, definition: volume.VolumeServiceService, implementation: { info: handlers(logger).unary(info) } }],
    descriptorSetPath: descriptorSetPath(),
    logger,
  });
  t.after(() => server.shutdown(100));
  return { server, target: server.addresses[0]!, logs: lines };
}

export const SERVICE_INFO: volume.InfoResponse = {
  info: {
    service: 'volume',
    version: '0.0.0-test',
    node: 'test-node',
    startedAt: new Date('2026-01-02T03:04:05Z'),
    uptime: { seconds: 42, nanos: 0 },
    stateRoot: '/var/lib/berth',
    listen: ['unix:///run/berth/volume.sock'],
    dependencies: [],
    schema: 'volume',
  },
};

/** An Info handler that answers at once. */
export const answerAtOnce: InfoHandler = async () => SERVICE_INFO;

/** One Info call through createClient and unaryCall, as Berth's own callers make it. */
export function callInfo(target: string, options: { deadlineMs?: number; tls?: TlsFiles } = {}): Promise<volume.InfoResponse> {
  const client = createClient(volume.VolumeServiceClient, target, { deadlineMs: options.deadlineMs ?? 5_000, tls: options.tls });
  return unaryCall<volume.InfoResponse>(target, (m, o, cb) => client.info({}, m, o, cb)).finally(() => client.close());
}

/** One Info call with the bare generated client, for the status exactly as it came over the wire. */
export function rawInfoStatus(target: string): Promise<ServiceError | null> {
  const client = createClient(volume.VolumeServiceClient, target, { deadlineMs: 5_000 });
  return new Promise<ServiceError | null>((resolve) => client.info({}, new Metadata(), (err) => resolve(err))).finally(() => client.close());
}

/** A promise with its resolve function, for a handler to wait on or to announce that it started. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
