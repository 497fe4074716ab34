/** Writes the command reference (docs/10-reference.md) to standard output: `npm run docs:reference`. */
import { referenceMarkdown } from './reference';

referenceMarkdown().then(
  (markdown) => process.stdout.write(markdown),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
