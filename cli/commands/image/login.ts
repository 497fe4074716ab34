import { readFileSync } from 'node:fs';
import { loadConfig } from '../../../libs/config';
import { invalidArgument } from '../../../libs/errors';
import type { imagestore } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { imageStore } from '../../client';
import { registryKey, removeCredentials, storeCredentials } from '../../registry-auth';

/** `berth login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]`: checks the credentials, then stores them. */
export async function login(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      username: { type: 'string', short: 'u', value: 'USER', description: 'User name (required: there is no prompt)' },
      password: { type: 'string', short: 'p', value: 'PASSWORD', description: 'Password or token (visible to other users of the host: prefer --password-stdin)' },
      'password-stdin': { type: 'boolean', default: false, description: 'Read the password from STDIN' },
    },
    'login',
  );
  const registry = positionals[0] ?? '';
  if (values.username === undefined) throw invalidArgument('login: give the user name with -u (berth login has no prompt yet)');
  if (values['password-stdin'] && values.password !== undefined) throw invalidArgument('login: --password and --password-stdin are mutually exclusive');
  const password = values['password-stdin'] ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : values.password;
  if (password === undefined || password === '') throw invalidArgument('login: give the password with --password-stdin (or -p)');

  const store = imageStore();
  let response: imagestore.LoginResponse;
  try {
    response = await store.call<imagestore.LoginResponse>((m, o, cb) =>
      store.client.login({ registry, auth: { username: values.username!, password, identityToken: '' } }, m, o, cb),
    );
  } finally {
    store.close();
  }
  const file = storeCredentials(store.config, registryKey(response.serverAddress === 'https://index.docker.io/v1/' ? '' : response.serverAddress), values.username, password);
  process.stdout.write(`Credentials stored in ${file}\nLogin Succeeded\n`);
  return 0;
}

/** `berth logout [SERVER]` */
export async function logout(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, {}, 'logout');
  const key = registryKey(positionals[0] ?? '');
  const removed = removeCredentials(loadConfig(), key);
  process.stdout.write(removed ? `Removing login credentials for ${key}\n` : `Not logged in to ${key}\n`);
  return 0;
}
