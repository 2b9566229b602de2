import { connect } from 'node:net';
import type { CatalogueMessage } from './errors.js';
import { catalogueMessage, LIB, say } from './i18n/index.js';
import type { PgClientOptions, PgConnection } from './pg-conn.js';

/** PostgreSQL's SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Whether a PostgreSQL server at host:port accepts TLS: the first message libpq sends (SSLRequest),
 * answered with one byte, `S` or `N`. Nothing is logged in and no handshake is made.
 */
export function offersTls(host: string, port: number, timeoutMs = 5_000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => done(new Error(`${host}:${port} did not answer a TLS request within ${timeoutMs} ms`)), timeoutMs);
    let settled = false;
    function done(err: Error | undefined, yes?: boolean): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(yes!);
    }
    socket.once('error', (err) => done(new Error(`cannot reach ${host}:${port}: ${err.message}`, { cause: err })));
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.once('data', (reply: Buffer) => {
      if (reply[0] === 0x53 /* S */) done(undefined, true);
      else if (reply[0] === 0x4e /* N */) done(undefined, false);
      else done(new Error(`${host}:${port} answered the TLS request with byte 0x${reply[0]?.toString(16)}: is it a PostgreSQL server?`));
    });
  });
}

/**
 * The options to connect with. For sslmode=prefer (libpq's default) the server is asked once
 * whether it offers TLS, as libpq does on every connection: TLS when it does, plain when it does
 * not. Every other mode is already settled.
 */
export async function settleTls(conn: PgConnection, timeoutMs = 5_000): Promise<{ config: PgClientOptions; tls: string }> {
  const config = conn.clientOptions();
  if (!conn.negotiate) return { config, tls: conn.tls };
  if (await offersTls(conn.host, conn.port, timeoutMs)) return { config, tls: conn.tls.replace(' if the server offers it', '') };
  return { config: { ...config, ssl: false }, tls: 'no TLS (sslmode=prefer and the server offers none)' };
}

/** Node's TLS verification codes, said as what to do about them. */
/** The TLS verification failures a user can act on: the catalogue key of each (lib/locales `pg.reason.*`). */
const TLS_FAILURES: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'notChained',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'notChained',
  SELF_SIGNED_CERT_IN_CHAIN: 'otherRoot',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'selfSigned',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'notYetValid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'altname',
  CERT_REVOKED: 'revoked',
};

/**
 * A connection failure in one line that says what and how to fix it, for the failures a user can
 * act on (TLS verification, a server without TLS, authentication); other errors pass through.
 */
export function explainConnectError(err: unknown, conn: PgConnection, where?: string): string {
  return say(connectErrorMessage(err, conn, where), 'en');
}

/** explainConnectError as a catalogue message, to be said in the user's language. */
export function connectErrorMessage(err: unknown, conn: PgConnection, where?: string): CatalogueMessage {
  const m = (key: string, params: Record<string, string | number | CatalogueMessage> = {}) => catalogueMessage(LIB, `pg.${key}`, params).localized;
  const at = where === undefined ? '' : m('at', { where });
  const e = err as NodeJS.ErrnoException & { code?: string };
  const message = e?.message ?? String(err);
  const reason = e?.code ? TLS_FAILURES[e.code] : undefined;
  if (reason !== undefined) {
    const anchor = conn.root ? `${conn.root.file} (${conn.root.from})` : m('anchorDefault');
    const fix =
      e.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? m('fix.altname')
        : m(conn.sslmode === 'require' || conn.sslmode === 'prefer' ? 'fix.rootOptional' : 'fix.root', { anchor });
    return m('tlsFailed', { at, host: conn.host, port: conn.port, reason: m(`reason.${reason}`), message, fix });
  }
  if (message === 'The server does not support SSL connections') return m('noTls', { at, host: conn.host, port: conn.port, sslmode: conn.sslmode });
  if (e?.code === '28P01' || e?.code === '28000') return m('login', { at, host: conn.host, port: conn.port, message, alternatives: catalogueMessage(LIB, 'pgConn.alternatives').localized });
  return m('other', { at, message });
}
