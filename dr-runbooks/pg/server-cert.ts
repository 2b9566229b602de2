import { X509Certificate } from 'node:crypto';
import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { unavailableError } from '../../lib/i18n/index.js';
import { DR_MESSAGES } from '../messages.js';

/** What a PostgreSQL server presents when asked for TLS. */
export type PresentedCertificate = { readonly tls: false } | { readonly tls: true; readonly pem: string; readonly chainPem: string };

/** PostgreSQL's SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Ask a PostgreSQL server for TLS the way libpq does (SSLRequest, then a TLS handshake on the same
 * socket) and return the certificate it presents, with the chain it sends. Nothing is logged in:
 * the connection closes right after the handshake. The certificate is not trusted here; the
 * caller checks it. A server that cannot be asked is an UnavailableError from the dr-runbooks
 * catalogue (`serverCert.*`): English in `message`, the reader's language when printed.
 */
export function fetchServerCertificate(host: string, port: number, timeoutMs = 5_000): Promise<PresentedCertificate> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    let settled = false;
    const done = (err: Error | undefined, value?: PresentedCertificate) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => done(unavailableError(DR_MESSAGES, 'serverCert.noAnswer', { host, port, ms: timeoutMs })), timeoutMs);
    socket.once('error', (err) => done(unavailableError(DR_MESSAGES, 'serverCert.unreachable', { host, port, why: err.message }, { cause: err })));
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.once('data', (reply: Buffer) => {
      if (reply[0] === 0x4e /* N */) return done(undefined, { tls: false });
      if (reply[0] !== 0x53 /* S */) return done(unavailableError(DR_MESSAGES, 'serverCert.notPostgres', { host, port, byte: String(reply[0]?.toString(16)) }));
      const secure = tlsConnect({ socket, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }) });
      secure.once('error', (err) => done(unavailableError(DR_MESSAGES, 'serverCert.handshake', { host, port, why: err.message }, { cause: err })));
      secure.once('secureConnect', () => {
        const chain: string[] = [];
        let cert = secure.getPeerCertificate(true);
        const seen = new Set<string>();
        while (cert?.raw && !seen.has(cert.fingerprint256)) {
          seen.add(cert.fingerprint256);
          chain.push(new X509Certificate(cert.raw).toString());
          cert = cert.issuerCertificate;
        }
        secure.destroy();
        if (chain.length === 0) return done(unavailableError(DR_MESSAGES, 'serverCert.noCertificate', { host, port }));
        done(undefined, { tls: true, pem: chain[0]!, chainPem: chain.join('') });
      });
    });
  });
}
