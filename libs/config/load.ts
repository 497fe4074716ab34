import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { BerthError } from '../errors';
import { CONFIG_FILE_VARIABLE, configSchema, ENVIRONMENT, type Config } from './schema';

export const DEFAULT_CONFIG_FILE = '/etc/berth/config.json';

/** A configuration that cannot be used; its message is one line naming where the bad value came from. */
export class ConfigError extends BerthError {
  constructor(message: string) {
    super('invalid_argument', message);
    this.name = 'ConfigError';
  }
}

type Tree = Record<string, unknown>;

/**
 * Loads the configuration: defaults, then the config file (BERTH_CONFIG, else /etc/berth/config.json
 * if it exists), then BERTH_* environment variables. Throws ConfigError on anything unknown or invalid.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const merged: Tree = { node: hostname() };
  const origins = new Map<string, string>();

  const file = env[CONFIG_FILE_VARIABLE] ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (file !== undefined) {
    const fromFile = readConfigFile(file);
    deepMerge(merged, fromFile);
    for (const path of leafPaths(fromFile)) origins.set(path, `config file ${file}`);
  }

  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('BERTH_') || name === CONFIG_FILE_VARIABLE || raw === undefined) continue;
    const entry = ENVIRONMENT[name];
    if (entry === undefined) throw new ConfigError(`unknown environment variable ${name}`);
    setPath(merged, entry.path, parseEnvironmentValue(name, raw, entry.type));
    origins.set(entry.path.join('.'), name);
  }

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keyPath = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      const unknown = [...keyPath, issue.keys[0]!];
      throw new ConfigError(`unknown config key "${unknown.join('.')}" in ${originOf(origins, unknown)}`);
    }
    const key = keyPath.join('.');
    const source = originOf(origins, keyPath);
    throw new ConfigError(`invalid config: ${source === 'defaults' ? key : `${key} (from ${source})`}: ${issue.message}`);
  }
  return parsed.data;
}

function readConfigFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`config file ${file} must hold a JSON object`);
  }
  return value as Tree;
}

function parseEnvironmentValue(name: string, raw: string, type: 'string' | 'number' | 'list' | 'map' | 'boolean'): unknown {
  const items = raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (type === 'list') return items;
  if (type === 'map') {
    const pairs = items.map((item) => item.match(/^([^=]+)=(.*)$/));
    if (pairs.some((pair) => pair === null)) throw new ConfigError(`${name}: "${raw}" is not KEY=VALUE[,KEY=VALUE...]`);
    return Object.fromEntries(pairs.map((pair) => [pair![1]!, pair![2]!]));
  }
  if (type === 'boolean') {
    if (!['true', 'false', '1', '0'].includes(raw.trim())) throw new ConfigError(`${name}: "${raw}" is not true or false`);
    return ['true', '1'].includes(raw.trim());
  }
  if (type === 'number') {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) throw new ConfigError(`${name}: "${raw}" is not a number`);
    return value;
  }
  return raw;
}

/**
 * Who set a key: the file or variable that set it or a section holding it, else one that set part of
 * it (an unknown key whose value is an object), else part of its section (a key missing from a section
 * that BERTH_TLS_CA alone created).
 */
function originOf(origins: Map<string, string>, keyPath: string[]): string {
  for (let n = keyPath.length; n > 0; n--) {
    const origin = origins.get(keyPath.slice(0, n).join('.'));
    if (origin !== undefined) return origin;
  }
  for (let n = keyPath.length; n > 0; n--) {
    const prefix = `${keyPath.slice(0, n).join('.')}.`;
    for (const [key, origin] of origins) if (key.startsWith(prefix)) return origin;
  }
  return 'defaults';
}

function isTree(value: unknown): value is Tree {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Merges by own properties only: JSON.parse makes "__proto__" an ordinary key, and reading or assigning
 * it as target[key] would reach Object.prototype, polluting every object in the process and hiding
 * the key from the schema's check for unknown keys.
 */
function deepMerge(target: Tree, source: Tree): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = Object.hasOwn(target, key) ? target[key] : undefined;
    if (isTree(value) && isTree(existing)) deepMerge(existing, value);
    else Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  }
}

function setPath(target: Tree, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]!] = value;
}

function leafPaths(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    isTree(value) ? leafPaths(value, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}
