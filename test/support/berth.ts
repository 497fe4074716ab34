import { spawn } from 'node:child_process';
import { berthBin } from './paths';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without any BERTH_ variable of the caller's, plus the given ones. */
export function berthEnvironment(variables: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BERTH_')));
  return { ...env, ...variables };
}

/** Runs a command to its end (killed after timeoutMs) and collects its output; input, if any, is its stdin. */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000, input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    child.stdin?.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    // 'exit', not 'close': `berth up -d` leaves a detached child that never closes inherited pipes.
    child.once('exit', (code) => {
      clearTimeout(timer);
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
  });
}

/** Runs the built `berth` command. */
export function berth(args: string[], env: NodeJS.ProcessEnv, timeoutMs?: number, input?: string): Promise<CommandResult> {
  return runCommand(process.execPath, [berthBin(), ...args], env, timeoutMs, input);
}
