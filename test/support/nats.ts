import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A port nothing listens on right now (on host, loopback unless given). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A nats-server with JetStream for tests, on a port of the loopback address (or of host, such as a
 * test cluster's hub) and a temporary store. It can be stopped and started again on the same port and
 * store, as an outage would.
 */
export class TestNats {
  private process: ChildProcess | undefined;
  private readonly store = mkdtempSync(join(tmpdir(), 'berth-test-nats-'));

  private constructor(
    readonly port: number,
    readonly host: string,
  ) {}

  static async start(host = '127.0.0.1'): Promise<TestNats> {
    const nats = new TestNats(await freePort(host), host);
    await nats.start();
    return nats;
  }

  get url(): string {
    return `nats://${this.host}:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn('nats-server', ['-js', '-sd', this.store, '-a', this.host, '-p', String(this.port)], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    this.process = child;
    const deadline = Date.now() + 15_000;
    while (!(await listening(this.host, this.port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`test nats-server did not start on port ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.store, { recursive: true, force: true });
  }
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
