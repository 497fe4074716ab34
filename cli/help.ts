import type { Flag, Flags } from './args';
import { COMMANDS, type CommandSpec } from './commands';

/** `berth --help`: every command by group, with its usage and what it does. */
export function overview(): string {
  const lines = ['Usage: berth COMMAND [OPTIONS]', '', 'Run `berth COMMAND --help` (or `berth help COMMAND`) for its options.'];
  const width = Math.max(...COMMANDS.map((command) => command.names[0]!.length)) + 2;
  for (const group of [...new Set(COMMANDS.map((command) => command.group))]) {
    lines.push('', `${group}:`);
    for (const command of COMMANDS.filter((c) => c.group === group)) lines.push(`  ${command.names[0]!.padEnd(width)}${command.summary}`);
  }
  lines.push('', 'Configuration: /etc/berth/config.json (or BERTH_CONFIG), then BERTH_* environment variables.', '');
  return lines.join('\n');
}

/** `berth COMMAND --help`: its usage, other names and flags. */
export function commandHelp(command: CommandSpec, flags: Flags): string {
  const lines = [`Usage: berth ${command.names[0]}${command.usage === '' ? '' : ` ${command.usage}`}`, '', command.summary];
  if (command.names.length > 1) lines.push('', `Also: ${command.names.slice(1).map((name) => `berth ${name}`).join(', ')}`);
  const shown = visibleFlags(flags);
  if (shown.length > 0) {
    const names = shown.map(([name, flag]) => flagSynopsis(name, flag));
    const width = Math.max(...names.map((name) => name.length)) + 2;
    lines.push('', 'Options:', ...shown.map(([, flag], index) => `  ${names[index]!.padEnd(width)}${flagDescription(flag)}`));
  }
  lines.push('');
  return lines.join('\n');
}

/** The flags help shows, in the order the command declares them. */
export function visibleFlags(flags: Flags): Array<[string, Flag]> {
  return Object.entries(flags).filter(([, flag]) => !flag.hidden);
}

/** "-t, --time SECONDS" */
export function flagSynopsis(name: string, flag: Flag): string {
  const long = `--${name}${flag.type === 'string' ? ` ${flag.value ?? 'value'}` : ''}`;
  return flag.short === undefined ? `    ${long}` : `-${flag.short}, ${long}`;
}

/** The description, with "(repeatable)" and the default when there is one worth saying. */
export function flagDescription(flag: Flag): string {
  const notes = [flag.multiple ? 'repeatable' : '', typeof flag.default === 'string' && flag.default !== '' ? `default ${flag.default}` : flag.default === true ? 'default true' : ''].filter(Boolean);
  return notes.length === 0 ? flag.description : `${flag.description} (${notes.join('; ')})`;
}
