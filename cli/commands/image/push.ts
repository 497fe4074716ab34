import { invalidArgument } from '../../../libs/errors';
import { formatReference, parseReference } from '../../../libs/reference';
import { parseFlags } from '../../args';
import { imageStore, readStream } from '../../client';
import { ProgressDisplay } from '../../progress';
import { credentialsFor } from '../../registry-auth';

/** `berth push [-q] NAME[:TAG]` */
export async function push(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { quiet: { type: 'boolean', short: 'q', default: false, description: 'Suppress the progress output; print NAME@DIGEST when done' } }, 'push');
  if (positionals.length !== 1) throw invalidArgument('push: give one image name, e.g. `berth push registry:5000/app:1`');
  const reference = parseReference(positionals[0]!);
  const store = imageStore();
  const display = new ProgressDisplay();
  let digest = '';
  try {
    const stream = store.client.push(
      { reference: formatReference(reference), auth: credentialsFor(store.config, reference.domain) },
      store.metadata(),
      { deadline: Infinity },
    );
    await readStream(stream, store.endpoint, (message) => {
      if (message.progress !== undefined && !values.quiet) display.update(message.progress);
      if (message.digest !== '') digest = message.digest;
    });
  } finally {
    store.close();
  }
  if (values.quiet) process.stdout.write(`${formatReference(reference)}@${digest}\n`);
  return 0;
}
