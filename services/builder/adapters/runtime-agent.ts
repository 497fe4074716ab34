import { PassThrough, type Readable } from 'node:stream';
import type { ServiceError } from '@grpc/grpc-js';
import { extract } from 'tar-stream';
import { isBerthError } from '../../../libs/errors';
import { fromServiceError, unaryCall } from '../../../libs/grpc';
import { runtime } from '../../../libs/proto';

/** What a RUN step runs, in a container of the state before it. */
export interface StepProcess {
  imageId: string;
  argv: string[];
  env: string[];
  workingDir: string;
  user: string;
  mounts: runtime.Mount[];
  /** `--network` of the build: "bridge", "none" or "host". */
  network: string;
}

/** The runtime-agent as the builder uses it: RUN steps as containers, their layers committed. */
export class RuntimeAgent {
  private node: Promise<string> | undefined;

  constructor(
    private readonly client: runtime.RuntimeServiceClient,
    private readonly endpoint: string,
  ) {}

  /**
   * Runs a step's process to its end, its output to onOutput; the container stays (for its layer to
   * be committed) and the caller removes it.
   */
  async run(step: StepProcess, onOutput: (stream: 1 | 2, data: Buffer) => Promise<void>): Promise<{ containerId: string; exitCode: number }> {
    const created = await this.create(
      { ...containerConfig(step.imageId, step.argv), env: step.env, workingDir: step.workingDir, user: step.user },
      runtime.HostConfig.fromPartial({ mounts: step.mounts, networkMode: step.network }),
    );
    const containerId = created.id;
    try {
      return { containerId, exitCode: await this.attachAndStart(containerId, onOutput) };
    } catch (err) {
      await this.remove(containerId).catch(() => undefined);
      throw err;
    }
  }

  private async attachAndStart(container: string, onOutput: (stream: 1 | 2, data: Buffer) => Promise<void>): Promise<number> {
    const call = this.client.attach({ deadline: Infinity });
    call.write({ message: { $case: 'start', value: { container, start: true } } });
    let exitCode: number | undefined;
    try {
      for await (const response of call as AsyncIterable<runtime.AttachResponse>) {
        const message = response.message;
        if (message?.$case === 'stdout') await onOutput(1, Buffer.from(message.value));
        else if (message?.$case === 'stderr') await onOutput(2, Buffer.from(message.value));
        else if (message?.$case === 'exitCode') exitCode = message.value;
      }
    } catch (err) {
      throw fromServiceError(err as ServiceError, this.endpoint);
    } finally {
      call.end();
    }
    if (exitCode === undefined) throw new Error(`the runtime-agent did not report how container ${container} ended`);
    return exitCode;
  }

  /**
   * The container's writable layer as an image (the container's config; the builder keeps only the
   * layer), as a plain tar: gzip would cost more than the build's steps themselves. The container
   * goes, its writable layer kept unpacked on the agent for the next step.
   */
  async commitAndRemove(container: string): Promise<string> {
    const response = await unaryCall<runtime.CommitResponse>(this.endpoint, (m, o, cb) =>
      this.client.commit({ container, reference: '', comment: '', author: '', changes: [], noPause: true, uncompressed: true, remove: true }, m, o, cb),
    );
    return response.imageId;
  }

  /**
   * A step's container, on the agent's own node: the layers of earlier steps are kept unpacked there,
   * so placement elsewhere in a cluster would only move them.
   */
  private async create(config: runtime.ContainerConfig, hostConfig: runtime.HostConfig | undefined): Promise<runtime.CreateResponse> {
    const node = await this.agentNode();
    return unaryCall(this.endpoint, (m, o, cb) => this.client.create({ name: '', platform: '', config, hostConfig, node, constraints: [], placementReason: '' }, m, o, cb));
  }

  private agentNode(): Promise<string> {
    this.node ??= unaryCall<runtime.InfoResponse>(this.endpoint, (m, o, cb) => this.client.info({}, m, o, cb)).then((response) => response.info!.node);
    this.node.catch(() => (this.node = undefined));
    return this.node;
  }

  async remove(container: string): Promise<void> {
    await unaryCall(this.endpoint, (m, o, cb) => this.client.remove({ container, force: true, volumes: true }, m, o, cb));
  }

  /**
   * `COPY --from`: a tar of a path in an image (`docker cp` rules: "DIR/." gives its contents), read
   * from a container that never runs; the container goes when the tar is read or abandoned.
   */
  async copyFrom(imageId: string, path: string): Promise<Readable> {
    const created = await this.create(containerConfig(imageId, ['true']), undefined);
    const tar = new PassThrough();
    const call = this.client.copyFrom({ container: created.id, path }, { deadline: Infinity });
    // A reader that stops early (isDirectory reads one header) ends the call, and the container goes.
    tar.once('close', () => call.cancel());
    void (async () => {
      try {
        for await (const chunk of call as AsyncIterable<runtime.CopyFromResponse>) {
          if (!tar.write(Buffer.from(chunk.data))) await new Promise((resolve) => tar.once('drain', resolve).once('close', resolve));
        }
        tar.end();
      } catch (err) {
        tar.destroy(fromServiceError(err as ServiceError, this.endpoint));
      } finally {
        await this.remove(created.id).catch(() => undefined);
      }
    })();
    return tar;
  }

  /** Whether the image has a directory at path (following a symlink there, as a copy into it would): false when nothing is there. */
  async isDirectory(imageId: string, path: string): Promise<boolean> {
    const tar = await this.copyFrom(imageId, path.endsWith('/') ? path : `${path}/`);
    try {
      return (await firstEntryType(tar)) === 'directory';
    } catch (err) {
      if (isBerthError(err, 'not_found') || isBerthError(err, 'invalid_argument')) return false;
      throw err;
    } finally {
      tar.destroy();
    }
  }
}

/** A builder's container: the image's settings, this command and no entrypoint, no terminal or input. */
function containerConfig(image: string, argv: string[]): runtime.ContainerConfig {
  return {
    image,
    cmd: { values: argv },
    entrypoint: { values: [] },
    env: [],
    workingDir: '',
    user: '',
    hostname: '',
    labels: {},
    tty: false,
    openStdin: false,
    stopSignal: '',
    stopTimeout: undefined,
    healthcheck: undefined,
    exposedPorts: [],
  };
}

/** The type of a tar's first entry ("directory", "file", ...), undefined for an empty tar. */
function firstEntryType(tar: Readable): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const reader = extract();
    reader.once('entry', (header) => {
      resolve(header.type ?? 'file');
      reader.destroy();
    });
    reader.once('finish', () => resolve(undefined));
    reader.once('error', reject);
    tar.once('error', reject);
    tar.pipe(reader);
  });
}
