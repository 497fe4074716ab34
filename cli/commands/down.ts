import { loadConfig } from '../../libs/config';
import { unavailable } from '../../libs/errors';
import { parseFlags } from '../args';
import { isBerthProcess, runningUp } from '../supervisor/pidfile';

const STOP_TIMEOUT_MS = 90_000;

/** `berth down`: stops the `berth up` running in the background, and waits until it has. */
export async function down(args: string[]): Promise<number> {
  parseFlags(args, {}, 'down');
  const config = loadConfig();
  const running = runningUp(config);
  if (running === undefined) {
    process.stdout.write('berth is not running\n');
    return 0;
  }
  process.kill(running.pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isBerthProcess(running.pid)) {
    if (Date.now() > deadline) throw unavailable(`berth (pid ${running.pid}) did not stop within ${STOP_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.stdout.write('berth stopped\n');
  return 0;
}
