import type { ServiceError } from '@grpc/grpc-js';
import { invalidArgument } from '../../../libs/errors';
import { fromServiceError } from '../../../libs/grpc';
import type { runtime } from '../../../libs/proto';
import { parseFlagsThenCommand } from '../../args';
import { runtimeAgent } from '../../client';

/** `berth exec [-i] [-e K=V] [-u USER] [-w DIR] [--privileged] CONTAINER COMMAND [ARG...]`: exits with the command's code. */
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
  if (values.tty) throw invalidArgument('exec: -t (a terminal) is not supported yet: leave it out');
  if (values.detach) throw invalidArgument('exec: -d is not supported yet');
  const agent = runtimeAgent();
  const call = agent.client.exec(agent.metadata(), { deadline: Infinity });
  try {
    call.write({
      message: {
        $case: 'start',
        value: { container, cmd, env: values.env ?? [], user: values.user, workingDir: values.workdir, stdin: values.interactive, privileged: values.privileged },
      },
    } satisfies runtime.ExecRequest);
    if (values.interactive) {
      process.stdin.on('data', (chunk: Buffer) => call.write({ message: { $case: 'stdin', value: chunk } }));
      process.stdin.once('end', () => call.write({ message: { $case: 'closeStdin', value: true } }));
    }
    let exitCode = 0;
    for await (const response of call as AsyncIterable<runtime.ExecResponse>) {
      const message = response.message;
      if (message?.$case === 'stdout') process.stdout.write(message.value);
      else if (message?.$case === 'stderr') process.stderr.write(message.value);
      else if (message?.$case === 'exitCode') exitCode = message.value;
    }
    return exitCode;
  } catch (err) {
    throw fromServiceError(err as ServiceError, agent.endpoint);
  } finally {
    process.stdin.pause();
    call.end();
    agent.close();
  }
}
