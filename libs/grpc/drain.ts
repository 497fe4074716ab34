import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';

const HEALTH_CHECK = '/grpc.health.v1.Health/Check';

/** Health and reflection: they serve the server itself, so they neither hold a drain nor wait for one. */
function servesTheServer(path: string): boolean {
  return path.startsWith('/grpc.health.v1.') || path.startsWith('/grpc.reflection.');
}

/**
 * Tracks a server's calls so that shutdown can drain them: while draining, the listener stays open so
 * that health checks still answer (a prober sees NOT_SERVING instead of a refused connection), every
 * other new call is refused with UNAVAILABLE, and the drain ends when the API's calls in flight do.
 */
export class Drain {
  private draining = false;
  /** Calls to the API's services that have not ended. */
  private readonly apiCalls = new Set<ServerInterceptingCall>();
  /** Health watches and reflection streams, which last as long as their client likes. */
  private readonly ownCalls = new Set<ServerInterceptingCall>();
  private idle: (() => void) | undefined;

  constructor(private readonly service: string) {}

  readonly interceptor: ServerInterceptor = (method, next) => {
    const calls = servesTheServer(method.path) ? this.ownCalls : this.apiCalls;
    let ended = false;
    const end = () => {
      ended = true;
      calls.delete(call);
      if (this.apiCalls.size === 0) this.idle?.();
    };
    const call: ServerInterceptingCall = new ServerInterceptingCall(next, {
      start: (proceed) => {
        if (this.draining && method.path !== HEALTH_CHECK) {
          ended = true;
          next.sendStatus(this.shuttingDown());
          return;
        }
        calls.add(call);
        proceed({ onCancel: end });
      },
      sendStatus: (callStatus, proceed) => {
        // Only the first status reaches the wire: the handler may answer a call that drain() ended.
        if (ended) return;
        end();
        proceed(callStatus);
      },
    });
    return call;
  };

  /** Starts draining; resolves true once no API call is in flight, false if calls remain after graceMs. */
  drain(graceMs: number): Promise<boolean> {
    this.draining = true;
    if (this.apiCalls.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), graceMs);
      this.idle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  /** Ends the health watches and reflection streams still open, which would otherwise hold their connections. */
  endOwnCalls(): void {
    for (const call of [...this.ownCalls]) call.sendStatus(this.shuttingDown());
  }

  private shuttingDown() {
    return { code: status.UNAVAILABLE, details: `${this.service} is shutting down`, metadata: new Metadata() };
  }
}
