import { EventEmitter } from 'node:events';
import { BerthError } from '../../../libs/errors';
import type { Container } from './model';

const REMEMBER_REMOVED_MS = 60_000;

/** A container as it is now, or undefined once removed. */
type Listener = (container: Container | undefined) => void;

/**
 * Tells waiters in this process about each committed change of a container: wait, logs --follow
 * and stop wait on it rather than polling the table.
 */
export class ContainerWatch {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  /** Containers removed a moment ago, for a wait that comes just after an auto-remove. */
  private readonly removedRecently = new Map<string, Container>();

  changed(id: string, container: Container): void {
    this.emitter.emit(id, container);
  }

  removed(container: Container): void {
    this.removedRecently.set(container.id, container);
    setTimeout(() => this.removedRecently.delete(container.id), REMEMBER_REMOVED_MS).unref();
    this.emitter.emit(container.id, undefined);
  }

  /** The last state of a container removed within the last minute. */
  recentlyRemoved(id: string): Container | undefined {
    return this.removedRecently.get(id);
  }

  /** Resolves with the first change that satisfies the test (undefined: removed). */
  until(id: string, test: (container: Container | undefined) => boolean, signal?: AbortSignal): Promise<Container | undefined> {
    return new Promise((resolve, reject) => {
      const listener: Listener = (container) => {
        if (!test(container)) return;
        done();
        resolve(container);
      };
      const onAbort = () => {
        done();
        // The signal's own reason when it has one (the call's deadline passed, or its client cancelled).
        reject(signal?.reason instanceof BerthError ? signal.reason : new BerthError('cancelled', 'the wait was cancelled'));
      };
      const done = () => {
        this.emitter.off(id, listener);
        signal?.removeEventListener('abort', onAbort);
      };
      if (signal?.aborted) return onAbort();
      this.emitter.on(id, listener);
      signal?.addEventListener('abort', onAbort);
    });
  }
}
