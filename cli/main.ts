/**
 * `berth`: Docker's verbs over Berth's gRPC API. Each command's module is loaded only when that
 * command runs, so that the command line starts fast.
 */
import { BerthError } from '../libs/errors';
import { HelpRequested } from './args';
import { findCommand } from './commands';
import { commandHelp, overview } from './help';

// A reader that has all it wants (`berth events | head -1`) closes the pipe: that ends the command, quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || (argv[0] === 'help' && argv.length === 1)) {
    process.stdout.write(overview());
    return argv.length === 0 ? 1 : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-v') argv = ['version'];
  // `berth help run` is `berth run --help`, as Docker's.
  if (argv[0] === 'help') argv = [...argv.slice(1), '--help'];
  const found = findCommand(argv);
  if (found === undefined) {
    process.stderr.write(`berth: unknown command "${argv.join(' ')}"; see \`berth --help\`\n`);
    return 2;
  }
  const command = await found.spec.load();
  try {
    return await command(found.args);
  } catch (err) {
    if (!(err instanceof HelpRequested)) throw err;
    process.stdout.write(commandHelp(found.spec, err.flags));
    return 0;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof BerthError) {
      process.stderr.write(`berth: ${err.message}\n`);
      // Usage and configuration errors found here exit 2, as most commands do; failures of the
      // work itself, and whatever a service refused, exit 1 (as Docker's daemon errors do).
      process.exitCode = err.kind === 'invalid_argument' && !err.remote ? 2 : 1;
    } else {
      process.stderr.write(`berth: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
