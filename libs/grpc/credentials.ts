import { readFileSync } from 'node:fs';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import { invalidArgument } from '../errors';

/** PEM files for mutual TLS. */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export function isUnixAddress(address: string): boolean {
  return address.startsWith('unix:');
}

/**
 * Credentials for a listener: a unix socket is protected by its file mode; TCP is served only with
 * mutual TLS, and a client without a certificate signed by the CA is refused during the handshake.
 */
export function serverCredentials(address: string, tls: TlsFiles | undefined): ServerCredentials {
  if (isUnixAddress(address)) return ServerCredentials.createInsecure();
  if (tls === undefined) {
    throw invalidArgument(`refusing to listen on ${address} without TLS: TCP needs grpc.tls (ca, cert, key) for mutual TLS`);
  }
  return ServerCredentials.createSsl(
    readFileSync(tls.ca),
    [{ private_key: readFileSync(tls.key), cert_chain: readFileSync(tls.cert) }],
    true,
  );
}

export function channelCredentials(target: string, tls: TlsFiles | undefined): ChannelCredentials {
  if (isUnixAddress(target)) return ChannelCredentials.createInsecure();
  if (tls === undefined) {
    throw invalidArgument(`refusing to connect to ${target} without TLS: TCP needs grpc.tls (ca, cert, key) for mutual TLS`);
  }
  silenceIpServerNameWarning();
  return ChannelCredentials.createSsl(readFileSync(tls.ca), readFileSync(tls.key), readFileSync(tls.cert));
}

let ipServerNameWarningSilenced = false;

/**
 * grpc-js passes a target's IP address as the TLS server name, and Node warns about that once per
 * process on stderr (DEP0123), in the middle of a command's output. The warning is only about the
 * SNI field: the server's certificate is still checked against the IP address.
 */
function silenceIpServerNameWarning(): void {
  if (ipServerNameWarningSilenced) return;
  ipServerNameWarningSilenced = true;
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((...args: unknown[]) => {
    const code = typeof args[1] === 'object' && args[1] !== null ? (args[1] as { code?: string }).code : args[2];
    if (code !== 'DEP0123') emitWarning(...args);
  }) as typeof process.emitWarning;
}
