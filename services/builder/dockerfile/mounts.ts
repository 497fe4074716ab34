import { invalidArgument } from '../../../libs/errors';
import type { RunMount } from './model';

type Expand = (word: string) => string;

/** The options that only some types take, and which ones each type takes. */
const TYPED_OPTIONS = ['source', 'from', 'id', 'sharing', 'uid', 'gid', 'mode'] as const;
const OPTIONS_OF_TYPE: Record<RunMount['type'], ReadonlyArray<(typeof TYPED_OPTIONS)[number]>> = {
  bind: ['source', 'from'],
  cache: ['id', 'sharing', 'uid', 'gid', 'mode'],
  tmpfs: [],
};

/**
 * One `RUN --mount=` value: comma-separated key=value fields, as buildkit reads them. Values are
 * expanded (keys are not); a bind mount is read-only unless it says rw, the others read-write. Docker's
 * secret and ssh mounts, and options this builder does not implement (tmpfs size), are refused
 * rather than ignored, so a build never runs with a mount other than the one written.
 */
export function runMount(spec: string, expand: Expand): RunMount {
  let type: RunMount['type'] = 'bind';
  const mount: Partial<RunMount> = {};
  for (const field of spec.split(',')) {
    const equals = field.indexOf('=');
    const key = (equals < 0 ? field : field.slice(0, equals)).toLowerCase();
    const value = equals < 0 ? undefined : expand(field.slice(equals + 1));
    switch (key) {
      case 'readonly':
      case 'ro':
        mount.readOnly = booleanValue(key, value);
        continue;
      case 'readwrite':
      case 'rw':
        mount.readOnly = !booleanValue(key, value);
        continue;
    }
    if (value === undefined) throw invalidArgument(`--mount field "${field}" must be a key=value pair`);
    switch (key) {
      case 'type':
        type = mountType(value);
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.target = value;
        break;
      case 'source':
      case 'src':
        mount.source = value;
        break;
      case 'from':
        mount.from = value;
        break;
      case 'id':
        mount.id = value;
        break;
      case 'sharing':
        if (value !== 'shared' && value !== 'private' && value !== 'locked') throw invalidArgument(`--mount sharing=${value}: use shared, private or locked`);
        mount.sharing = value;
        break;
      case 'uid':
      case 'gid':
        mount[key] = integerValue(key, value, 10);
        break;
      case 'mode':
        mount.mode = integerValue(key, value, 8);
        break;
      default:
        throw invalidArgument(`--mount has an unknown or unsupported option "${key}"`);
    }
  }
  return checkedMount(type, mount, spec);
}

function checkedMount(type: RunMount['type'], mount: Partial<RunMount>, spec: string): RunMount {
  const { target } = mount;
  if (target === undefined || target === '') throw invalidArgument(`--mount=${spec} needs a target`);
  for (const option of TYPED_OPTIONS) {
    if (mount[option] !== undefined && !OPTIONS_OF_TYPE[type].includes(option)) {
      throw invalidArgument(`--mount option ${option} does not apply to type=${type}`);
    }
  }
  return {
    ...mount,
    type,
    target,
    readOnly: mount.readOnly ?? type === 'bind',
    ...(type === 'cache' ? { id: mount.id ?? target } : {}),
  };
}

function mountType(value: string): RunMount['type'] {
  const type = value.toLowerCase();
  if (type === 'bind' || type === 'cache' || type === 'tmpfs') return type;
  if (type === 'secret' || type === 'ssh') throw invalidArgument(`--mount type=${type} is not supported by this builder`);
  throw invalidArgument(`--mount type=${value} is unknown: use bind, cache or tmpfs`);
}

function booleanValue(key: string, value: string | undefined): boolean {
  if (value === undefined || /^(1|t|true)$/i.test(value)) return true;
  if (/^(0|f|false)$/i.test(value)) return false;
  throw invalidArgument(`--mount ${key}=${value}: use true or false`);
}

function integerValue(key: string, value: string, radix: 8 | 10): number {
  const digits = radix === 8 ? /^[0-7]+$/ : /^\d+$/;
  const number = parseInt(value, radix);
  if (!digits.test(value) || number > 2 ** 32 - 1) throw invalidArgument(`--mount ${key}=${value}: use a${radix === 8 ? 'n octal' : ''} number`);
  return number;
}
