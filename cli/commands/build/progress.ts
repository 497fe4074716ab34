import type { builder } from '../../../libs/proto';

/** Docker's plain progress (`--progress=plain`): "#N [i/n] INSTRUCTION", output lines, DONE or CACHED. */
export class PlainProgress {
  private readonly startedAt = new Map<number, number>();
  private current = 0;

  constructor(private readonly quiet: boolean) {}

  render(response: builder.BuildResponse): void {
    const event = response.event;
    if (event === undefined) return;
    switch (event.$case) {
      case 'stepStarted': {
        const { step, total, stage, instruction } = event.value;
        this.current = step;
        this.startedAt.set(step, Date.now());
        this.write(`#${step} [${stage} ${step}/${total}] ${instruction}\n`);
        break;
      }
      case 'output': {
        const seconds = ((Date.now() - (this.startedAt.get(event.value.step) ?? Date.now())) / 1000).toFixed(3);
        for (const line of Buffer.from(event.value.data).toString('utf8').split('\n').filter((l) => l !== '')) this.write(`#${event.value.step} ${seconds} ${line}\n`);
        break;
      }
      case 'stepFinished':
        this.write(event.value.cached ? `#${event.value.step} CACHED\n\n` : `#${event.value.step} DONE ${(event.value.durationMs / 1000).toFixed(1)}s\n\n`);
        break;
      case 'result':
        if (this.quiet) process.stdout.write(`${event.value.imageId}\n`);
        else {
          this.write(`writing image ${event.value.imageId} done\n`);
          for (const tag of event.value.tags) this.write(`naming to ${tag} done\n`);
          this.write(`built in ${(event.value.durationMs / 1000).toFixed(3)}s of builder time, ${event.value.cachedSteps} steps from the cache\n`);
        }
        break;
    }
  }

  /** The step that was running when the build failed. */
  failed(): void {
    if (this.current > 0) this.write(`#${this.current} ERROR\n`);
  }

  private write(text: string): void {
    if (!this.quiet) process.stderr.write(text);
  }
}
