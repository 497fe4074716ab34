import { HelpRequested, type Flags } from './args';
import { COMMANDS, type CommandSpec } from './commands';
import { flagDescription, flagSynopsis, visibleFlags } from './help';

/**
 * docs/10-reference.md: every command with its usage, other names and flags, each command asked
 * for its flags as `--help` asks it, so that the reference says what the command line does.
 */
export async function referenceMarkdown(): Promise<string> {
  const lines = [
    '# Command reference',
    '',
    'Every `berth` command with its options, made from the command line\'s own definitions by',
    '`npm run docs:reference` (a test fails when this file and the commands differ).',
    '`berth COMMAND --help` prints the same. Containers, images, volumes and networks are named by',
    'name or id (or an unambiguous prefix of the id), as with Docker.',
  ];
  for (const group of [...new Set(COMMANDS.map((command) => command.group))]) {
    lines.push('', `## ${group}`);
    for (const command of COMMANDS.filter((c) => c.group === group)) {
      lines.push('', `### berth ${command.names[0]}`, '', '```', `berth ${command.names[0]}${command.usage === '' ? '' : ` ${command.usage}`}`, '```', '', `${command.summary}.`);
      if (command.names.length > 1) lines.push('', `Also: ${command.names.slice(1).map((name) => `\`berth ${name}\``).join(', ')}.`);
      const flags = visibleFlags(await flagsOf(command));
      if (flags.length > 0) {
        lines.push('', '| Option | Description |', '|---|---|');
        for (const [name, flag] of flags) lines.push(`| \`${flagSynopsis(name, flag).trim()}\` | ${flagDescription(flag).replaceAll('|', '\\|')} |`);
      }
    }
  }
  lines.push('');
  return lines.join('\n');
}

async function flagsOf(command: CommandSpec): Promise<Flags> {
  const run = await command.load();
  try {
    await run(['--help']);
  } catch (err) {
    if (err instanceof HelpRequested) return err.flags;
    throw err;
  }
  throw new Error(`berth ${command.names[0]} ran instead of answering --help`);
}
