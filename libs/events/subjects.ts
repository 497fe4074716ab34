import { invalidArgument } from '../errors';

const TOKEN = /^[a-z][a-z0-9_]*$/;

/** berth.events.<type>.<action>: one subject per kind of change, so consumers filter cheaply. */
export function eventSubject(prefix: string, type: string, action: string): string {
  if (!TOKEN.test(type)) throw invalidArgument(`event type "${type}" must be a lowercase word`);
  if (!TOKEN.test(action)) throw invalidArgument(`event action "${action}" must be a lowercase word`);
  return `${prefix}.${type}.${action}`;
}

/** The subjects a filter on type and action covers ("*" for any). */
export function eventFilterSubject(prefix: string, type = '*', action = '*'): string {
  return type === '*' && action === '*' ? `${prefix}.>` : `${prefix}.${type}.${action}`;
}
