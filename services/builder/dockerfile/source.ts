/** A place in the text as dockerfile-ast gives it (its ranges' start and end), both 0-based. */
export interface Position {
  line: number;
  character: number;
}

/**
 * The Dockerfile's text, addressed by the positions dockerfile-ast gives (line and character). Line
 * breaks are counted as dockerfile-ast counts them: "\r\n", "\r" or "\n".
 */
export class SourceText {
  private readonly lineStarts: number[] = [0];

  constructor(readonly text: string) {
    for (const match of text.matchAll(/\r\n|\r|\n/g)) this.lineStarts.push(match.index + match[0].length);
  }

  /** The text from start to end, its continuation lines joined as Docker joins them. */
  joined(start: Position, end: Position, escape: string): string {
    return joinContinuations(this.text.slice(this.offsetAt(start), this.offsetAt(end)), escape);
  }

  private offsetAt(position: Position): number {
    return (this.lineStarts[position.line] ?? this.text.length) + position.character;
  }
}

/**
 * One instruction's lines as Docker's parser reads them: a line ending in the escape character (then
 * only blanks) goes on with the next line, the escape removed; comment lines and empty lines in
 * between are dropped; the next line's leading blanks are kept. dockerfile-ast finds where an
 * instruction begins and ends, but its own joined text keeps comment lines, so this does the joining.
 */
export function joinContinuations(text: string, escape: string): string {
  const continued = new RegExp(`${escape === '\\' ? '\\\\' : escape}[ \\t]*$`);
  let joined = '';
  for (const [index, line] of text.split(/\r\n|\r|\n/).entries()) {
    if (index > 0 && (/^\s*#/.test(line) || line.trim() === '')) continue;
    if (!continued.test(line)) return (joined + line).trim();
    joined += line.replace(continued, '');
  }
  return joined.trim();
}
