/**
 * Docker's progress display for pull and push: one line per layer, redrawn in place on a terminal
 * ("a1b2c3d4e5f6: Downloading [=====>        ] 1.2MB/3.4MB"); elsewhere a line each time a layer's
 * status changes, so logs stay short.
 */
export class ProgressDisplay {
  private readonly rows = new Map<string, { index: number; text: string; status: string }>();
  private lineCount = 0;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  update(progress: { id: string; status: string; current: number; total: number }): void {
    const text = progress.id === '' ? progress.status : `${progress.id}: ${progress.status}${bar(progress.current, progress.total)}`;
    if (progress.id === '') {
      this.out.write(`${text}\n`);
      this.lineCount++;
      return;
    }
    const row = this.rows.get(progress.id);
    if (!this.out.isTTY) {
      if (row?.status !== progress.status) this.out.write(`${progress.id}: ${progress.status}\n`);
      this.rows.set(progress.id, { index: 0, text, status: progress.status });
      return;
    }
    if (row === undefined) {
      this.rows.set(progress.id, { index: this.lineCount, text, status: progress.status });
      this.out.write(`${text}\n`);
      this.lineCount++;
      return;
    }
    const up = this.lineCount - row.index;
    this.out.write(`\x1b[${up}A\r\x1b[2K${text}\x1b[${up}B\r`);
    row.text = text;
    row.status = progress.status;
  }
}

function bar(current: number, total: number): string {
  if (total <= 0 || current <= 0) return '';
  const width = 50;
  const done = Math.min(width, Math.floor((current / total) * width));
  const arrow = done < width ? '>' : '';
  return ` [${'='.repeat(Math.max(0, done - (arrow ? 1 : 0)))}${arrow}${' '.repeat(width - done)}] ${humanSize(current)}/${humanSize(total)}`;
}

/** Sizes as Docker prints them: decimal units, three significant digits ("1.23MB", "45.6kB"). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(3))}${units[unit]}`;
}
