import { invalidArgument } from '../libs/errors';

/**
 * The part of Go's text/template that scripts use with Docker's --format: `{{.Field.Sub}}`,
 * `{{json .Field}}`, `{{.}}`, and `\t`/`\n` escapes. Anything else is refused rather than guessed.
 */
export function renderTemplate(template: string, value: unknown): string {
  return template
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n')
    .replace(/\{\{\s*(json\s+)?(\.[A-Za-z0-9_.]*)\s*\}\}/g, (_match, json: string | undefined, path: string) => {
      const found = lookup(value, path);
      if (json !== undefined) return JSON.stringify(found ?? null);
      if (found === undefined || found === null) return '<no value>';
      return typeof found === 'object' ? JSON.stringify(found) : String(found);
    })
    .replace(/\{\{.*?\}\}/g, (match) => {
      throw invalidArgument(`unsupported --format expression ${match}: use {{.Field}} or {{json .Field}}`);
    });
}

function lookup(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.').filter((k) => k !== '')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
