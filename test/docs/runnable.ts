/**
 * The runnable parts of a guide chapter: its shell blocks marked `sh run`, each with the output it
 * promises, if a `text output` block follows it.
 */
export interface RunnableBlock {
  /** The line of the chapter the block starts on (its fence). */
  line: number;
  script: string;
  /** Lines the block's output must hold, in this order (others may come between); "…" stands for any text. */
  expected?: string[];
}

const FENCE = /^```(.*)$/;

export function runnableBlocks(markdown: string): RunnableBlock[] {
  const lines = markdown.split('\n');
  const blocks: RunnableBlock[] = [];
  for (let at = 0; at < lines.length; at++) {
    const info = FENCE.exec(lines[at]!)?.[1]?.trim();
    if (info === undefined) continue;
    const start = at;
    const body: string[] = [];
    for (at++; at < lines.length && lines[at] !== '```'; at++) body.push(lines[at]!);
    if (info === 'sh run') blocks.push({ line: start + 1, script: body.join('\n') });
    else if (info === 'text output') {
      const previous = blocks.at(-1);
      if (previous === undefined || previous.expected !== undefined) throw new Error(`line ${start + 1}: a text output block must follow a sh run block`);
      previous.expected = body;
    }
  }
  return blocks;
}

/** The first expected line that the output does not hold in order, or undefined when all are there. */
export function missingLine(expected: string[], output: string): string | undefined {
  const lines = output.split('\n').map((line) => line.trimEnd());
  let from = 0;
  for (const wanted of expected.map((line) => line.trimEnd()).filter((line) => line !== '')) {
    const pattern = new RegExp(`^${wanted.split('…').map(escape).join('.*')}$`);
    const found = lines.findIndex((line, index) => index >= from && pattern.test(line));
    if (found === -1) return wanted;
    from = found + 1;
  }
  return undefined;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
