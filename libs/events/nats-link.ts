import { connect, Events, type NatsConnection } from 'nats';
import type { Logger } from 'pino';

export interface NatsLinkOptions {
  url: string;
  token?: string;
  /** Shown in the server's connection list: the service's name. */
  name: string;
  logger: Logger;
}

/**
 * A NATS connection that is always being made: a service starts and works while NATS is away (its
 * events wait in the outbox), and reconnects forever when NATS comes back.
 */
export class NatsLink {
  private connection: NatsConnection | undefined;
  private connected = false;
  private closing = false;
  private readonly ready: Promise<NatsConnection>;
  private readonly onConnectCallbacks: Array<(nc: NatsConnection) => Promise<void>> = [];
  private cancelRetryWait: () => void = () => undefined;

  constructor(private readonly options: NatsLinkOptions) {
    this.ready = this.connectForever();
    // A link closed before it ever connected rejects `ready`: expected, and not worth a crash when
    // nobody is waiting on it (an unhandled rejection ends the process).
    this.ready.catch(() => undefined);
  }

  /** Runs fn after every (re)connection: for things the server may have lost, like a stream. */
  onConnect(fn: (nc: NatsConnection) => Promise<void>): void {
    this.onConnectCallbacks.push(fn);
    if (this.connection !== undefined && this.connected) void this.runCallback(fn, this.connection);
  }

  /** The connection, once it has been made (it may be reconnecting). */
  connectionReady(): Promise<NatsConnection> {
    return this.ready;
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** Round-trip time to the server, or why there is none. */
  async check(): Promise<{ ok: boolean; detail: string }> {
    if (this.connection === undefined || !this.connected) return { ok: false, detail: `not connected to ${this.options.url}` };
    try {
      const rtt = await this.connection.rtt();
      return { ok: true, detail: `NATS ${this.connection.info?.version ?? ''}, round trip ${rtt} ms`.replace('  ', ' ') };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.cancelRetryWait();
    // Waits for a connection being made right now too: connectForever closes it as soon as it is made.
    const nc = await this.ready.catch(() => undefined);
    if (nc !== undefined) await nc.drain().catch(() => nc.close());
  }

  private async connectForever(): Promise<NatsConnection> {
    let delay = 250;
    let warned = false;
    for (;;) {
      if (this.closing) throw new Error('NATS link closed');
      try {
        const nc = await connect({
          // A cluster's URLs, comma-separated in the config, are the client's list of servers to try.
          servers: this.options.url.split(',').map((url) => url.trim()),
          token: this.options.token,
          name: this.options.name,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          timeout: 2_000,
        });
        if (this.closing) {
          await nc.close();
          throw new Error('NATS link closed');
        }
        this.adopt(nc);
        return nc;
      } catch (err) {
        if (this.closing) throw new Error('NATS link closed');
        if (!warned) this.options.logger.warn(`NATS at ${this.options.url} unreachable (${(err as Error).message}); retrying`);
        warned = true;
        await this.retryWait(delay);
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  /** The pause between attempts, cut short by close() so that a closed link holds no timer. */
  private retryWait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.cancelRetryWait = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private adopt(nc: NatsConnection): void {
    this.connection = nc;
    this.connected = true;
    this.options.logger.info(`connected to NATS at ${this.options.url}`);
    for (const fn of this.onConnectCallbacks) void this.runCallback(fn, nc);
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === Events.Disconnect) {
          this.connected = false;
          this.options.logger.warn(`lost NATS at ${this.options.url}; reconnecting`);
        } else if (status.type === Events.Reconnect) {
          this.connected = true;
          this.options.logger.info(`reconnected to NATS at ${this.options.url}`);
          for (const fn of this.onConnectCallbacks) void this.runCallback(fn, nc);
        }
      }
    })();
  }

  private async runCallback(fn: (nc: NatsConnection) => Promise<void>, nc: NatsConnection): Promise<void> {
    try {
      await fn(nc);
    } catch (err) {
      this.options.logger.warn(`after connecting to NATS: ${(err as Error).message}`);
    }
  }
}
