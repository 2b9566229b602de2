import { request } from 'node:https';
import { inputError, unavailableError } from '../lib/i18n/index.js';
import { CLI } from './help.js';

/**
 * The one HTTPS JSON request the CLI makes to a jinbao serve (client mode, unseal): the service's
 * URL checked, its certificate checked against `ca`, an optional client certificate, one JSON body
 * each way, and the same errors everywhere (unreachable, untrusted, not a jinbao serve).
 */

/** `--server` as a URL: https only (commands and shares never travel in clear). */
export function serverUrl(server: string | undefined, example: string): URL {
  if (server === undefined) throw inputError(CLI, 'client.err.serverNone', { example });
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw inputError(CLI, 'client.err.serverUrl', { server });
  }
  if (base.protocol !== 'https:') throw inputError(CLI, 'client.err.serverHttps', { server });
  return base;
}

export interface JsonCall {
  /** Absent: GET. */
  readonly body?: unknown;
  /** PEM of the CA the service's TLS certificate chains to; absent: the system's trust store. */
  readonly ca?: string;
  /** A client certificate (PKCS#12) and its password: mutual TLS. */
  readonly pfx?: Buffer;
  readonly passphrase?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** What the answer should be, for the error when it is not JSON ("a command result"). */
  readonly what: string;
}

export function callJson<T>(url: URL, c: JsonCall): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const options = {
      method: c.body === undefined ? 'GET' : 'POST',
      ...(c.ca ? { ca: c.ca } : {}),
      ...(c.pfx ? { pfx: c.pfx, passphrase: c.passphrase ?? '' } : {}),
      headers: { 'content-type': 'application/json', ...c.headers },
      timeout: c.timeoutMs,
    };
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T });
        } catch {
          reject(unavailableError(CLI, 'client.err.notService', { origin: url.origin, status: String(res.statusCode), what: c.what }));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${Math.round(c.timeoutMs / 1000)} s`)));
    req.on('error', (err) =>
      reject(unavailableError(CLI, /certificate|self.signed/i.test(err.message) ? 'client.err.unreachableTls' : 'client.err.unreachable', { origin: url.origin, why: err.message }, { cause: err })),
    );
    req.end(c.body === undefined ? undefined : JSON.stringify(c.body));
  });
}
