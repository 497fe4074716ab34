import { invalidArgument } from '../../libs/errors';
import { createCa, issueCertificate } from '../../libs/pki';
import { parseFlags } from '../args';

/** Where `berth certs` keeps its CA and certificates unless told. */
const DEFAULT_DIR = '/etc/berth/pki';

/** `berth certs ca [--dir D] [--days N]`: the cluster's CA, made once. */
export async function certsCa(args: string[]): Promise<number> {
  const { values } = parseFlags(
    args,
    {
      dir: { type: 'string', value: 'DIR', description: 'Directory of the CA (ca.crt and ca.key; default /etc/berth/pki)' },
      days: { type: 'string', value: 'DAYS', description: 'Days the CA is valid (default 3650)' },
    },
    'certs ca',
  );
  const made = createCa(values.dir ?? DEFAULT_DIR, { days: days(values.days) });
  process.stdout.write(`${made.cert}\n${made.key}\n`);
  return 0;
}

/**
 * `berth certs node NAME [--address IP]... [--dns NAME]... [--dir D] [--days N]`: a host's
 * certificate, for its services to serve TCP with and to call each other with.
 */
export async function certsNode(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      dir: { type: 'string', value: 'DIR', description: 'Directory of the CA, where NAME.crt and NAME.key are written (default /etc/berth/pki)' },
      days: { type: 'string', value: 'DAYS', description: 'Days the certificate is valid (default 825)' },
      address: { type: 'string', multiple: true, value: 'IP', description: 'IP address the host is reached at, added to the certificate' },
      dns: { type: 'string', multiple: true, value: 'NAME', description: 'DNS name the host is reached at, added to the certificate besides NAME' },
    },
    'certs node',
  );
  if (positionals.length !== 1) throw invalidArgument('certs node: give the node name');
  const made = issueCertificate(values.dir ?? DEFAULT_DIR, positionals[0]!, { kind: 'node', addresses: values.address, dnsNames: values.dns, days: days(values.days) });
  process.stdout.write(`${made.cert}\n${made.key}\n`);
  return 0;
}

/** `berth certs client NAME [--dir D] [--days N]`: a certificate for a remote user or program. */
export async function certsClient(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      dir: { type: 'string', value: 'DIR', description: 'Directory of the CA, where NAME.crt and NAME.key are written (default /etc/berth/pki)' },
      days: { type: 'string', value: 'DAYS', description: 'Days the certificate is valid (default 825)' },
    },
    'certs client',
  );
  if (positionals.length !== 1) throw invalidArgument('certs client: give the client name');
  const made = issueCertificate(values.dir ?? DEFAULT_DIR, positionals[0]!, { kind: 'client', days: days(values.days) });
  process.stdout.write(`${made.cert}\n${made.key}\n`);
  return 0;
}

function days(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw invalidArgument(`--days takes a number of days, not "${text}"`);
  return Number(text);
}
