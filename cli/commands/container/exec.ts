import { invalidArgument } from '../../../libs/errors';
import { parseFlagsThenCommand } from '../../args';
import { callerEnv } from './create-flags';
import { runtimeAgent } from '../../client';
import { relayTerminal } from './attach';

/** `berth exec [-i] [-t] [-e K=V] [-u USER] [-w DIR] [--privileged] CONTAINER COMMAND [ARG...]`: exits with the command's code. */
export async function exec(args: string[]): Promise<number> {
  const { values, positionals } = parseFlagsThenCommand(
    args,
    {
      interactive: { type: 'boolean', short: 'i', default: false, description: 'Pass STDIN to the command' },
      tty: { type: 'boolean', short: 't', default: false, description: 'Allocate a pseudo-TTY' },
      detach: { type: 'boolean', short: 'd', default: false, description: 'Run the command in the background (not supported yet: refused)' },
      env: { type: 'string', short: 'e', multiple: true, value: 'KEY=VALUE', description: 'Set an environment variable for the command; NAME alone takes its value from your environment' },
      user: { type: 'string', short: 'u', default: '', value: 'USER[:GROUP]', description: "Run as this user: a name or UID, optionally with :GROUP or :GID (default the container's)" },
      workdir: { type: 'string', short: 'w', default: '', value: 'DIR', description: "Working directory inside the container (default the container's)" },
      privileged: { type: 'boolean', default: false, description: 'Give the command extended privileges' },
    },
    'exec',
  );
  const [container, ...cmd] = positionals;
  if (container === undefined || cmd.length === 0) throw invalidArgument('exec: give a container and a command');
  if (values.detach) throw invalidArgument('exec: -d is not supported yet');
  const agent = runtimeAgent();
  try {
    const call = agent.client.exec(agent.metadata(), { deadline: Infinity });
    call.write({
      message: {
        $case: 'start',
        value: { container, cmd, env: callerEnv(values.env ?? []), user: values.user, workingDir: values.workdir, stdin: values.interactive, privileged: values.privileged, tty: values.tty },
      },
    });
    return await relayTerminal(call, agent.endpoint, { stdin: values.interactive, tty: values.tty });
  } finally {
    agent.close();
  }
}
