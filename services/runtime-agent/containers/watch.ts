import { EventEmitter } from 'node:events';
import { BerthError } from '../../../libs/errors';
import type { Container } from './model';

/** A container as it is now, or undefined once removed. */
type Listener = (container: Container | undefined) => void;

/**
 * Tells waiters in this process about each committed change of a container: wait, logs --follow
 * and stop wait on it rather than polling the table.
 */
export class ContainerWatch {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  changed(id: string, container: Container | undefined): void {
    this.emitter.emit(id, container);
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
        reject(new BerthError('cancelled', 'the wait was cancelled'));
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
