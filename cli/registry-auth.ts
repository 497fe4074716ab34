import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Config } from '../libs/config';
import { invalidArgument } from '../libs/errors';

/** Docker keys Docker Hub's credentials by this legacy address. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

interface AuthFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  [other: string]: unknown;
}

export function authFilePath(config: Config): string {
  return config.registries.authFile ?? join(homedir(), '.berth', 'config.json');
}

/** The key of a registry in the file: Docker Hub's legacy address, else host[:port]. */
export function registryKey(registry: string): string {
  return registry === '' || registry === 'docker.io' || registry === 'index.docker.io' ? DOCKER_HUB_KEY : registry;
}

function read(path: string): AuthFile {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as AuthFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw invalidArgument(`cannot read the credentials file ${path}: ${(err as Error).message}`);
  }
}

/** Writes the file atomically, readable by its owner only: it holds passwords. */
function write(path: string, file: AuthFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(file, null, '\t')}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/** The stored credentials for a registry, as the image-store's RegistryAuth. */
export function credentialsFor(config: Config, registry: string): { username: string; password: string; identityToken: string } | undefined {
  const entry = read(authFilePath(config)).auths?.[registryKey(registry)];
  if (entry === undefined) return undefined;
  if (entry.identitytoken) return { username: '', password: '', identityToken: entry.identitytoken };
  if (entry.auth === undefined) return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), identityToken: '' };
}

export function storeCredentials(config: Config, key: string, username: string, password: string): string {
  const path = authFilePath(config);
  const file = read(path);
  file.auths = { ...file.auths, [key]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  write(path, file);
  return path;
}

/** Forgets a registry's credentials; false when there were none. */
export function removeCredentials(config: Config, key: string): boolean {
  const path = authFilePath(config);
  const file = read(path);
  if (file.auths?.[key] === undefined) return false;
  delete file.auths[key];
  write(path, file);
  return true;
}
