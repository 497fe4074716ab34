/**
 * A small certificate authority for Berth's mutual TLS, made with Debian's openssl: a CA, node
 * certificates (server and client, with the node's addresses and names) and client certificates.
 * Keys are P-256, written 0600.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alreadyExists, failedPrecondition, invalidArgument } from '../errors';

export interface IssuedCertificate {
  cert: string;
  key: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw failedPrecondition(`openssl ${args[0]}: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`);
  }
}

/** A new CA in dir (ca.crt, ca.key); an existing one is never overwritten. */
export function createCa(dir: string, options: { name?: string; days?: number } = {}): IssuedCertificate {
  const name = options.name ?? 'ca';
  if (!NAME.test(name)) throw invalidArgument(`invalid CA name "${name}"`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const made = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  if (existsSync(made.cert) || existsSync(made.key)) throw alreadyExists(`${made.cert} exists already: a CA is made once`);
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', String(options.days ?? 3650), '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`]);
  chmodSync(made.key, 0o600);
  return made;
}

/**
 * A certificate signed by the CA in dir: for a node (server and client, valid for its addresses
 * and DNS names) or for a client only.
 */
export function issueCertificate(dir: string, name: string, options: { kind: 'node' | 'client'; addresses?: string[]; dnsNames?: string[]; days?: number; ca?: string }): IssuedCertificate {
  if (!NAME.test(name)) throw invalidArgument(`invalid certificate name "${name}": use letters, digits, ".", "_" and "-"`);
  const ca = options.ca ?? 'ca';
  if (!existsSync(join(dir, `${ca}.crt`)) || !existsSync(join(dir, `${ca}.key`))) throw failedPrecondition(`no CA in ${dir}: make one first (berth certs ca)`);
  for (const address of options.addresses ?? []) if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address) && !address.includes(':')) throw invalidArgument(`invalid address "${address}"`);
  const names = [...(options.kind === 'node' ? [name] : []), ...(options.dnsNames ?? [])];
  const altNames = [...(options.addresses ?? []).map((address) => `IP:${address}`), ...names.map((dns) => `DNS:${dns}`)];
  const extensions = [
    ...(altNames.length > 0 ? [`subjectAltName=${altNames.join(',')}`] : []),
    `extendedKeyUsage=${options.kind === 'node' ? 'serverAuth,clientAuth' : 'clientAuth'}`,
    '',
  ].join('\n');
  writeFileSync(join(dir, `${name}.ext`), extensions);
  try {
    openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', String(options.days ?? 825), '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
  } finally {
    rmSync(join(dir, `${name}.ext`), { force: true });
    rmSync(join(dir, `${name}.csr`), { force: true });
  }
  chmodSync(join(dir, `${name}.key`), 0o600);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}
