import { invalidArgument } from '../../../libs/errors';
import { parseFlagsThenCommand } from '../../args';
import { runtimeAgent } from '../../client';
import { relayTerminal } from './attach';

/** `berth exec [-i] [-t] [-e K=V] [-u USER] [-w DIR] [--privileged] CONTAINER COMMAND [ARG...]`: exits with the command's code. */
export async function exec(args: string[]): Promise<number> {
  const { values, positionals } = parseFlagsThenCommand(
    args,
    {
      interactive: { type: 'boolean', short: 'i', default: false },
      tty: { type: 'boolean', short: 't', default: false },
      detach: { type: 'boolean', short: 'd', default: false },
      env: { type: 'string', short: 'e', multiple: true },
      user: { type: 'string', short: 'u', default: '' },
      workdir: { type: 'string', short: 'w', default: '' },
      privileged: { type: 'boolean', default: false },
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
        value: { container, cmd, env: values.env ?? [], user: values.user, workingDir: values.workdir, stdin: values.interactive, privileged: values.privileged, tty: values.tty },
      },
    });
    return await relayTerminal(call, agent.endpoint, { stdin: values.interactive, tty: values.tty });
  } finally {
    agent.close();
  }
}
