import { createHmac, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { Agent, request } from 'node:https';
import { bitString, explicit, extension, integer, oid, seq, set, tlv } from '../der.js';
import { b64url, jwkThumbprint, type JwsAlgorithm } from './jws.js';

/**
 * A small ACME client over HTTPS: what the service's tests and benchmark drive it with (real
 * clients such as certbot are tested against it too). It does JWS signing for the four
 * algorithms the server takes, External Account Binding, nonces, polling and P-256 CSRs.
 */

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export interface AcmeClientOptions {
  readonly directoryUrl: string;
  /** PEM of the root the service's TLS certificate chains to. */
  readonly caPem: string;
  /** The account key; default a fresh P-256 key. */
  readonly key?: KeyObject;
  /** Keep connections open (the benchmark). */
  readonly agent?: Agent;
}

export class AcmeHttpError extends Error {
  constructor(readonly answer: HttpAnswer, readonly problem: { type?: string; detail?: string } | undefined) {
    super(`HTTP ${answer.status}: ${problem?.type ?? ''} ${problem?.detail ?? answer.body.toString('utf8').slice(0, 200)}`);
  }
}

export function algorithmOf(key: KeyObject): JwsAlgorithm {
  const t = key.asymmetricKeyType;
  if (t === 'rsa') return 'RS256';
  if (t === 'ed25519') return 'EdDSA';
  return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'ES384' : 'ES256';
}

/** A flattened JWS of `payload` ("" for POST-as-GET) with the given header members. */
export function signJws(key: KeyObject, header: Record<string, unknown>, payload: string | object): { protected: string; payload: string; signature: string } {
  const alg = algorithmOf(key);
  const protectedB64 = b64url(JSON.stringify({ alg, ...header }));
  const payloadB64 = typeof payload === 'string' ? b64url(payload) : b64url(JSON.stringify(payload));
  const input = Buffer.from(`${protectedB64}.${payloadB64}`);
  const hash = alg === 'ES384' ? 'sha384' : alg === 'EdDSA' ? null : 'sha256';
  const signature = alg.startsWith('ES') ? sign(hash, input, { key, dsaEncoding: 'ieee-p1363' }) : sign(hash, input, key);
  return { protected: protectedB64, payload: payloadB64, signature: b64url(signature) };
}

export function publicJwkOf(key: KeyObject): Record<string, string> {
  return createPublicKey(key).export({ format: 'jwk' }) as Record<string, string>;
}

/** A PKCS#10 request for `names` (SANs; CN the first name unless `noCommonName`) with a fresh P-256 key. */
export function p256Csr(names: readonly string[], opts: { noCommonName?: boolean; key?: KeyObject } = {}): { der: Buffer; key: KeyObject } {
  const key = opts.key ?? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const subject = opts.noCommonName ? seq() : seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(names[0]!)))));
  const san = seq(...names.map((n) => tlv(0x82, Buffer.from(n))));
  const attributes = explicit(0, seq(oid('1.2.840.113549.1.9.14'), set(seq(extension('2.5.29.17', san)))));
  const info = seq(integer(0), subject, spki, attributes);
  const signature = sign('sha256', info, key);
  return { der: seq(info, seq(oid('1.2.840.10045.4.3.2')), bitString(signature)), key };
}

export interface Order {
  readonly url: string;
  readonly status: string;
  readonly authorizations: string[];
  readonly finalize: string;
  readonly expires: string;
  readonly certificate?: string;
  readonly error?: { type: string; detail: string };
  readonly identifiers: { type: string; value: string }[];
}

export class AcmeClient {
  key: KeyObject;
  accountUrl: string | undefined;
  private directory?: Record<string, string>;
  private nonces: string[] = [];

  constructor(private readonly o: AcmeClientOptions) {
    this.key = o.key ?? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  }

  /** One HTTPS request (no redirects). */
  http(method: string, url: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const req = request(
        { method, host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port, path: u.pathname + u.search, ca: this.o.caPem, ...(this.o.agent ? { agent: this.o.agent } : {}), headers: { ...headers, ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const nonce = res.headers['replay-nonce'];
            if (typeof nonce === 'string') this.nonces.push(nonce);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async dir(): Promise<Record<string, string>> {
    if (!this.directory) this.directory = JSON.parse((await this.http('GET', this.o.directoryUrl)).body.toString()) as Record<string, string>;
    return this.directory;
  }

  async nonce(): Promise<string> {
    const n = this.nonces.pop();
    if (n) return n;
    await this.http('HEAD', (await this.dir()).newNonce!);
    return this.nonces.pop()!;
  }

  /** POST a raw body with the JOSE content type. */
  postRaw(url: string, body: string | Buffer, contentType = 'application/jose+json'): Promise<HttpAnswer> {
    return this.http('POST', url, body, { 'content-type': contentType });
  }

  /** Sign and POST; `useJwk` for newAccount / revocation with the certificate key. */
  async post(url: string, payload: string | object, opts: { useJwk?: boolean; key?: KeyObject; header?: Record<string, unknown>; retryBadNonce?: boolean } = {}): Promise<HttpAnswer> {
    const key = opts.key ?? this.key;
    const header = { nonce: await this.nonce(), url, ...(opts.useJwk ? { jwk: publicJwkOf(key) } : { kid: this.accountUrl }), ...opts.header };
    const answer = await this.postRaw(url, JSON.stringify(signJws(key, header, payload)));
    if (answer.status === 400 && (opts.retryBadNonce ?? true) && problemOf(answer)?.type === 'urn:ietf:params:acme:error:badNonce') return this.post(url, payload, { ...opts, retryBadNonce: false });
    return answer;
  }

  async postOk(url: string, payload: string | object, opts: Parameters<AcmeClient['post']>[2] = {}): Promise<HttpAnswer> {
    const a = await this.post(url, payload, opts);
    if (a.status >= 300) throw new AcmeHttpError(a, problemOf(a));
    return a;
  }

  /** newAccount with External Account Binding (HS256 over the account key). */
  async register(eab: { kid: string; hmacKey: string } | undefined, contact: string[] = []): Promise<HttpAnswer> {
    const url = (await this.dir()).newAccount!;
    const payload: Record<string, unknown> = { termsOfServiceAgreed: true, contact };
    if (eab) payload.externalAccountBinding = eabJws(eab, url, this.key);
    const a = await this.post(url, payload, { useJwk: true });
    if (a.status === 200 || a.status === 201) this.accountUrl = String(a.headers.location);
    return a;
  }

  keyAuthorization(token: string): string {
    return `${token}.${jwkThumbprint(createPublicKey(this.key))}`;
  }

  async newOrder(names: readonly string[]): Promise<Order> {
    const a = await this.postOk((await this.dir()).newOrder!, { identifiers: names.map((value) => ({ type: 'dns', value })) });
    return { ...(JSON.parse(a.body.toString()) as Omit<Order, 'url'>), url: String(a.headers.location) };
  }

  async getJson<T = Record<string, unknown>>(url: string): Promise<T> {
    return JSON.parse((await this.postOk(url, '')).body.toString()) as T;
  }

  /**
   * Answer every authorization of the order with http-01 (`publish(token, keyAuthorization)` puts the
   * response where the validator looks), then wait until the order is ready.
   */
  async authorize(order: Order, publish: (token: string, keyAuthorization: string) => void, opts: { intervalMs?: number; timeoutMs?: number } = {}): Promise<Order> {
    for (const url of order.authorizations) {
      const authz = await this.getJson<{ status: string; challenges: { type: string; url: string; token: string }[] }>(url);
      if (authz.status === 'valid') continue;
      const ch = authz.challenges.find((c) => c.type === 'http-01')!;
      publish(ch.token, this.keyAuthorization(ch.token));
      await this.postOk(ch.url, {});
    }
    return this.pollOrder(order.url, (s) => s !== 'pending', opts);
  }

  async pollOrder(url: string, done: (status: string) => boolean, opts: { intervalMs?: number; timeoutMs?: number } = {}): Promise<Order> {
    const end = Date.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
      const o = { ...(await this.getJson<Omit<Order, 'url'>>(url)), url };
      if (done(o.status)) return o;
      if (Date.now() > end) throw new Error(`order ${url} still ${o.status}`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
    }
  }

  async finalize(order: Order, csrDer: Buffer): Promise<HttpAnswer> {
    return this.post(order.finalize, { csr: b64url(csrDer) });
  }

  async certificate(url: string): Promise<string> {
    return (await this.postOk(url, '')).body.toString();
  }
}

export function eabJws(eab: { kid: string; hmacKey: string }, url: string, accountKey: KeyObject): { protected: string; payload: string; signature: string } {
  const protectedB64 = b64url(JSON.stringify({ alg: 'HS256', kid: eab.kid, url }));
  const payloadB64 = b64url(JSON.stringify(publicJwkOf(accountKey)));
  const mac = createHmac('sha256', Buffer.from(eab.hmacKey, 'base64url')).update(`${protectedB64}.${payloadB64}`).digest();
  return { protected: protectedB64, payload: payloadB64, signature: b64url(mac) };
}

export function problemOf(a: HttpAnswer): { type?: string; detail?: string; status?: number } | undefined {
  try {
    return JSON.parse(a.body.toString()) as { type?: string; detail?: string };
  } catch {
    return undefined;
  }
}
