import { invalidArgument } from '../../../libs/errors';
import { familiarName, formatReference, parseReference } from '../../../libs/reference';
import { parseFlags } from '../../args';
import { imageStore, readStream } from '../../client';
import { ProgressDisplay } from '../../progress';
import { credentialsFor } from '../../registry-auth';

/** `berth pull [--platform os/arch] [-q] IMAGE` */
export async function pull(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      platform: { type: 'string', default: '', value: 'OS/ARCH[/VARIANT]', description: "Pull the image for this platform, e.g. linux/arm64 (default this host's)" },
      quiet: { type: 'boolean', short: 'q', default: false, description: 'Suppress the progress output' },
    },
    'pull',
  );
  if (positionals.length !== 1) throw invalidArgument('pull: give one image, e.g. `berth pull busybox`');
  const reference = parseReference(positionals[0]!);
  const name = formatReference(reference);
  const store = imageStore();
  const display = new ProgressDisplay();
  let downloaded = false;
  try {
    const stream = store.client.pull(
      { reference: name, platform: values.platform, auth: credentialsFor(store.config, reference.domain) },
      store.metadata(),
      { deadline: Infinity },
    );
    await readStream(stream, store.endpoint, (message) => {
      if (message.progress === undefined) return;
      if (message.progress.status === 'Pull complete') downloaded = true;
      if (!values.quiet) display.update(message.progress);
    });
  } finally {
    store.close();
  }
  if (!values.quiet) {
    const familiar = familiarName(name);
    process.stdout.write(`Status: ${downloaded ? 'Downloaded newer image' : 'Image is up to date'} for ${familiar}\n`);
  }
  process.stdout.write(`${name}\n`);
  return 0;
}
