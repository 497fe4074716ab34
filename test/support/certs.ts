import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueCertificate, type IssuedCertificate } from '../../libs/pki';

export interface TestPki {
  dir: string;
  ca: string;
  server: IssuedCertificate;
  client: IssuedCertificate;
  /** A client certificate from another CA: must be refused. */
  stranger: IssuedCertificate;
}

/** A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and one from a stranger CA. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pki-'));
  createCa(dir, { days: 2 });
  createCa(dir, { name: 'other-ca', days: 2 });
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    server: issueCertificate(dir, 'server', { kind: 'node', addresses: ['127.0.0.1'], dnsNames: ['localhost'], days: 2 }),
    client: issueCertificate(dir, 'client', { kind: 'client', days: 2 }),
    stranger: issueCertificate(dir, 'stranger', { kind: 'client', days: 2, ca: 'other-ca' }),
  };
}
