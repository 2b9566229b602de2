import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import type { Fabric } from '../../fabric/index.js';
import { InputError } from '../../lib/errors.js';
import { parseCsr } from '../csr.js';
import { normalizeSerial, REVOCATION_REASONS, type RevocationReason } from '../store.js';
import { toPem } from '../x509.js';
import { usableEabKey } from './eab.js';
import { b64url, fromB64url, jwkThumbprint, parseJws, payloadObject, publicJwk, publicKeyFromJwk, verifyExternalAccountBinding, verifyJws, type ParsedJws } from './jws.js';
import { applicationOfNames, checkDnsIdentifier, enforceSitePolicy } from './policy.js';
import type { AcmeCertificateAuthority } from './ports.js';
import { AcmeProblem, type AcmeErrorType } from './problems.js';
import { defaultBurst, LocalRateBuckets, type RateBuckets, type RateLimit } from './rate-limit.js';
import { AcmeStore, newId, PROCESSING_STALE_MS, type AccountRow, type AuthzRow, type ChallengeRow, type OrderRow } from './store.js';
import type { ChallengeValidator } from './validation.js';

/** One HTTP request as the ACME server sees it (the service's HTTP layer builds it). */
export interface AcmeRequest {
  readonly method: string;
  /** Path without the query string, e.g. /acme/new-order. */
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: Buffer;
  readonly remoteAddress: string;
}

export interface AcmeResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** For metrics and the access log: the problem type of a refusal. */
  readonly problem?: AcmeErrorType;
}

export interface AcmeLimits {
  /** ACME requests a minute per client address. @default 600 */
  readonly perAddressPerMinute?: number;
  /** ACME requests a minute per account. @default 300 */
  readonly perAccountPerMinute?: number;
  /** new orders a minute per account. @default 60 */
  readonly newOrdersPerAccountPerMinute?: number;
}

export interface AcmeServerOptions {
  readonly store: AcmeStore;
  readonly ca: AcmeCertificateAuthority;
  readonly fabric: Fabric;
  readonly validator: ChallengeValidator;
  /** https://host:port, the base of every URL the server hands out (requests must name it in "url"). */
  readonly publicUrl: string;
  /** Decrypts EAB keys. */
  readonly passphrase: string;
  /** Validity of issued certificates. @default 90 */
  readonly validityDays?: number;
  readonly limits?: AcmeLimits;
  /** Where the rate-limit buckets live (the cluster primary, for `serve --workers N`). @default this process */
  readonly buckets?: RateBuckets;
  /** Unexpected failures (with stack) go here, never to the client. */
  readonly onInternalError?: (err: unknown, req: AcmeRequest) => void;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

const ORDER_LIFETIME_MS = 7 * 86_400_000;
/** A valid authorization is reused by a new order only with at least this much of its life left. */
const REUSE_MIN_LEFT_MS = 3_600_000;
const MAX_IDENTIFIERS = 100;
/** Processes on one database may disagree this much about the time. */
const CLOCK_SKEW_MS = 5_000;
const MAX_CONTACTS = 5;
/** RFC 5280 reason codes an ACME client may give (CA compromise and hold are the operator's). */
const ACME_REVOCATION_REASONS: ReadonlyMap<number, RevocationReason> = new Map(
  (Object.entries(REVOCATION_REASONS) as [RevocationReason, number][]).filter(([n]) => !['cACompromise', 'aACompromise', 'certificateHold'].includes(n)).map(([n, c]) => [c, n]),
);

/** The nonce handed out with a request's answer, taken when its own nonce was used. */
interface NonceSlot {
  next?: string | undefined;
}

interface Authenticated {
  readonly jws: ParsedJws;
  /** The verified signer: an account (kid), or a bare key (jwk). */
  readonly account?: AccountRow;
  readonly key: KeyObject;
}

/**
 * The ACME (RFC 8555) server: directory, nonces, accounts with External Account Binding, orders,
 * authorizations, http-01/dns-01/tls-alpn-01 challenges, finalize, certificate download, revocation, key
 * change, account deactivation and renewal information (RFC 9773). HTTP-agnostic: `handle` takes
 * a request and gives a response; refusals are RFC 7807 problem documents, audited.
 */
export class AcmeServer {
  readonly base: string;
  private readonly o: AcmeServerOptions;
  private readonly buckets: RateBuckets;
  private readonly byAddress: RateLimit;
  private readonly byAccount: RateLimit;
  private readonly ordersByAccount: RateLimit;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(o: AcmeServerOptions) {
    this.o = o;
    this.base = o.publicUrl.replace(/\/+$/, '');
    this.buckets = o.buckets ?? new LocalRateBuckets();
    const limit = (perMinute: number): RateLimit => ({ perMinute, burst: defaultBurst(perMinute) });
    this.byAddress = limit(o.limits?.perAddressPerMinute ?? 600);
    this.byAccount = limit(o.limits?.perAccountPerMinute ?? 300);
    this.ordersByAccount = limit(o.limits?.newOrdersPerAccountPerMinute ?? 60);
  }

  private now(): Date {
    return (this.o.clock ?? (() => new Date()))();
  }

  url(path: string): string {
    return `${this.base}/acme/${path}`;
  }

  directory(): Record<string, unknown> {
    return {
      newNonce: this.url('new-nonce'),
      newAccount: this.url('new-account'),
      newOrder: this.url('new-order'),
      revokeCert: this.url('revoke-cert'),
      keyChange: this.url('key-change'),
      renewalInfo: this.url('renewal-info'),
      meta: { externalAccountRequired: true, website: `${this.base}/`, caaIdentities: [] },
    };
  }

  /** Wait for challenge validations still running (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  async handle(req: AcmeRequest): Promise<AcmeResponse> {
    const route = req.path.replace(/^\/acme\/?/, '');
    const nonces: NonceSlot = {};
    try {
      if (route === 'directory') return this.json(200, this.directory(), {}, req.method === 'GET' || req.method === 'HEAD' ? undefined : 405);
      if (route === 'new-nonce') {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new AcmeProblem('malformed', `${req.method} /acme/new-nonce: want HEAD or GET`, { status: 405 });
        return { status: req.method === 'GET' ? 204 : 200, headers: { 'replay-nonce': await this.o.store.newNonce(), 'cache-control': 'no-store', link: this.indexLink() }, body: '' };
      }
      if (route.startsWith('renewal-info')) {
        if (req.method !== 'GET') throw new AcmeProblem('malformed', `${req.method} /acme/renewal-info: want GET`, { status: 405 });
        return await this.renewalInfo(route.slice('renewal-info'.length).replace(/^\//, ''));
      }
      if (req.method !== 'POST') throw new AcmeProblem('malformed', `${req.method} /acme/${route.slice(0, 60)}: want POST (RFC 8555 POST-as-GET)`, { status: 405 });
      return await this.post(route, req, nonces);
    } catch (err) {
      return this.refusal(err, req, route, nonces);
    }
  }

  /** Take a token from the bucket `key`: 0 when allowed, else the seconds until one is available. */
  private async wait(key: string, limit: RateLimit): Promise<number> {
    const taken = await this.buckets.take(key, limit);
    return taken.ok ? 0 : (taken.retryAfterSeconds ?? 1);
  }

  private indexLink(): string {
    return `<${this.url('directory')}>;rel="index"`;
  }

  private json(status: number, body: unknown, headers: Record<string, string> = {}, methodNotAllowed?: number): AcmeResponse {
    if (methodNotAllowed) throw new AcmeProblem('malformed', 'want GET', { status: methodNotAllowed });
    return { status, headers: { 'content-type': 'application/json', link: this.indexLink(), ...headers }, body: JSON.stringify(body) };
  }

  private async refusal(err: unknown, req: AcmeRequest, route: string, nonces: NonceSlot): Promise<AcmeResponse> {
    let problem: AcmeProblem;
    if (err instanceof AcmeProblem) problem = err;
    else if (err instanceof InputError) problem = new AcmeProblem('malformed', err.message);
    else {
      this.o.onInternalError?.(err, req);
      problem = new AcmeProblem('serverInternal', 'the server failed to handle this request; it is logged, try again later');
    }
    const headers: Record<string, string> = { 'content-type': 'application/problem+json', link: this.indexLink() };
    if (problem.retryAfter !== undefined) headers['retry-after'] = String(problem.retryAfter);
    try {
      if (req.method === 'POST' || problem.type === 'badNonce') headers['replay-nonce'] = nonces.next ?? (await this.o.store.newNonce());
      // Every refusal of a request that reached the protocol is audited, except rate limiting (a flood must not become one).
      if (req.method === 'POST' && problem.type !== 'rateLimited') {
        await this.o.ca.audit({
          action: `acme.${route.split('/')[0] || 'request'}`,
          outcome: 'refused',
          subject: route.slice(0, 120),
          actor: `acme-client@${req.remoteAddress}`,
          details: { type: problem.type, detail: problem.message, status: problem.status },
        });
      }
    } catch (inner) {
      this.o.onInternalError?.(inner, req);
    }
    return { status: problem.status, headers, body: JSON.stringify(problem.document()), problem: problem.type };
  }

  // ---- the JWS-authenticated requests

  private async post(route: string, req: AcmeRequest, nonces: NonceSlot): Promise<AcmeResponse> {
    const wait = await this.wait(`address:${req.remoteAddress}`, this.byAddress);
    if (wait) throw new AcmeProblem('rateLimited', `too many requests from ${req.remoteAddress}: the limit is ${this.byAddress.perMinute} a minute; retry after ${wait} s`, { retryAfter: wait });
    const type = (req.contentType ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/jose+json') throw new AcmeProblem('malformed', `Content-Type: got ${JSON.stringify(req.contentType ?? '')}, want application/jose+json`, { status: 415 });
    const jws = parseJws(req.body);
    const nonce = jws.header.nonce;
    const used = nonce === undefined ? undefined : await this.o.store.useNonce(nonce, this.now());
    nonces.next = used?.next;
    if (!used?.ok) {
      throw new AcmeProblem('badNonce', nonce === undefined ? 'JWS "nonce": got none, want a fresh nonce from newNonce' : 'JWS "nonce": got one that is unknown, used or expired; want a fresh nonce from newNonce (each nonce is good for one request)');
    }
    const expectedUrl = `${this.base}${req.path}`;
    if (jws.header.url !== expectedUrl) throw new AcmeProblem('unauthorized', `JWS "url": got ${JSON.stringify(jws.header.url ?? null).slice(0, 200)}, want ${expectedUrl} (the URL this request was sent to)`);
    const [head, id, tail] = route.split('/');
    const jwkAllowed = route === 'new-account' || route === 'revoke-cert';
    const auth = await this.authenticate(jws, jwkAllowed, route === 'new-account');
    if (auth.account) {
      const w = await this.wait(`account:${auth.account.id}`, this.byAccount);
      if (w) throw new AcmeProblem('rateLimited', `too many requests from account ${auth.account.id}: the limit is ${this.byAccount.perMinute} a minute; retry after ${w} s`, { retryAfter: w });
    }
    const response = await (async () => {
      switch (head) {
        case 'new-account':
          return this.newAccount(auth);
        case 'new-order':
          return this.newOrder(need(auth));
        case 'acct':
          if (tail === 'orders') return this.accountOrders(need(auth), id!);
          return this.accountUpdate(need(auth), id!);
        case 'order':
          return tail === 'finalize' ? this.finalize(need(auth), id!) : this.orderGet(need(auth), id!);
        case 'authz':
          return this.authzPost(need(auth), id!);
        case 'chall':
          return this.challengePost(need(auth), id!);
        case 'cert':
          return this.certificateGet(need(auth), id!);
        case 'revoke-cert':
          return this.revokeCert(auth);
        case 'key-change':
          return this.keyChange(need(auth), expectedUrl);
        default:
          throw new AcmeProblem('malformed', `no ACME resource at /acme/${route.slice(0, 80)}`, { status: 404 });
      }
    })();
    response.headers['replay-nonce'] = nonces.next!;
    return response;
  }

  private async authenticate(jws: ParsedJws, jwkAllowed: boolean, newAccount: boolean): Promise<Authenticated> {
    if (jws.header.jwk !== undefined) {
      if (!jwkAllowed) throw new AcmeProblem('malformed', 'JWS: got "jwk", want "kid" (the account URL) for every request but newAccount and revokeCert');
      const key = publicKeyFromJwk(jws.header.jwk);
      verifyJws(jws, key);
      if (newAccount) return { jws, key };
      const account = await this.o.store.accountByThumbprint(jwkThumbprint(key));
      return { jws, key, ...(account ? { account } : {}) };
    }
    if (newAccount) throw new AcmeProblem('malformed', 'JWS: got "kid" on newAccount, want "jwk" (the new account\'s public key)');
    const kid = jws.header.kid!;
    const prefix = this.url('acct/');
    const account = kid.startsWith(prefix) ? await this.o.store.account(kid.slice(prefix.length)) : undefined;
    if (!account) throw new AcmeProblem('accountDoesNotExist', `JWS "kid": got ${JSON.stringify(kid.slice(0, 200))}, which is no account of this server; want the URL newAccount returned`);
    const key = publicKeyFromJwk(JSON.parse(account.jwk) as Record<string, unknown>);
    verifyJws(jws, key);
    if (account.status !== 'valid') throw new AcmeProblem('unauthorized', `account ${account.id} is ${account.status}; want a valid account`);
    return { jws, account, key };
  }

  // ---- accounts

  private accountView(a: AccountRow): Record<string, unknown> {
    return { status: a.status, contact: JSON.parse(a.contact), orders: this.url(`acct/${a.id}/orders`), createdAt: a.created_at };
  }

  private checkContacts(contact: unknown): string[] {
    if (contact === undefined) return [];
    if (!Array.isArray(contact) || contact.length > MAX_CONTACTS) throw new AcmeProblem('invalidContact', `contact: got ${Array.isArray(contact) ? `${contact.length} entries` : typeof contact}, want an array of at most ${MAX_CONTACTS} mailto: URLs`);
    for (const c of contact) {
      if (typeof c !== 'string' || !c.startsWith('mailto:')) throw new AcmeProblem('unsupportedContact', `contact: got ${JSON.stringify(c)?.slice(0, 80)}, want mailto: URLs`);
      if (!/^mailto:[^@\s,?]+@[^@\s,?]+\.[^@\s,?]+$/.test(c) || c.length > 254) throw new AcmeProblem('invalidContact', `contact: got ${JSON.stringify(c.slice(0, 80))}, want one mailto: address per entry`);
    }
    return contact as string[];
  }

  private async newAccount(auth: Authenticated): Promise<AcmeResponse> {
    const p = payloadObject(auth.jws);
    const thumbprint = jwkThumbprint(auth.key);
    const existing = await this.o.store.accountByThumbprint(thumbprint);
    if (existing) return this.json(200, this.accountView(existing), { location: this.url(`acct/${existing.id}`) });
    if (p.onlyReturnExisting === true) throw new AcmeProblem('accountDoesNotExist', 'onlyReturnExisting: no account has this key');
    const contact = this.checkContacts(p.contact);
    if (p.externalAccountBinding === undefined) throw new AcmeProblem('externalAccountRequired', 'externalAccountBinding: got none, want one made with a key from jinbao acme eab create (--eab-kid/--eab-hmac-key)');
    let eabRow: Awaited<ReturnType<typeof usableEabKey>>;
    const kid = await verifyExternalAccountBinding(p.externalAccountBinding, {
      url: this.url('new-account'),
      accountKey: auth.key,
      macKey: async (k) => (eabRow = await usableEabKey(this.o.store, this.o.passphrase, k, this.now()))?.key,
    });
    const row: AccountRow = {
      id: newId(),
      thumbprint,
      jwk: JSON.stringify(publicJwk(auth.key)),
      status: 'valid',
      contact: JSON.stringify(contact),
      site: eabRow!.row.site,
      application: eabRow!.row.application,
      eab_kid: kid,
      created_at: this.now().toISOString(),
    };
    const outcome = await this.o.store.createAccount(row);
    if (outcome === 'key-in-use') {
      const now = await this.o.store.accountByThumbprint(thumbprint);
      return this.json(200, this.accountView(now!), { location: this.url(`acct/${now!.id}`) });
    }
    if (outcome === 'eab-used') throw new AcmeProblem('unauthorized', `externalAccountBinding: key id "${kid}" was used by another account a moment ago; want an unused key from jinbao acme eab create`);
    await this.o.ca.audit({ action: 'acme.account.create', outcome: 'ok', subject: row.id, actor: `acme:${row.id}`, details: { site: row.site, application: row.application, eabKid: kid, thumbprint } });
    return this.json(201, this.accountView(row), { location: this.url(`acct/${row.id}`) });
  }

  private async accountUpdate(auth: Required<Pick<Authenticated, 'account'>> & Authenticated, id: string): Promise<AcmeResponse> {
    const a = auth.account;
    if (id !== a.id) throw new AcmeProblem('unauthorized', `account ${id?.slice(0, 40)}: got a request signed by account ${a.id}, want the account's own key`);
    if (auth.jws.payload.length === 0) return this.json(200, this.accountView(a), { location: this.url(`acct/${a.id}`) });
    const p = payloadObject(auth.jws);
    if (p.status !== undefined && p.status !== 'deactivated') throw new AcmeProblem('malformed', `status: got ${JSON.stringify(p.status)?.slice(0, 40)}, want "deactivated" or none`);
    const contact = p.contact !== undefined ? this.checkContacts(p.contact) : undefined;
    await this.o.store.updateAccount(a.id, { ...(p.status === 'deactivated' ? { status: 'deactivated' as const } : {}), ...(contact ? { contact: JSON.stringify(contact) } : {}) });
    if (p.status === 'deactivated') await this.o.ca.audit({ action: 'acme.account.deactivate', outcome: 'ok', subject: a.id, actor: `acme:${a.id}`, details: { site: a.site } });
    const now = (await this.o.store.account(a.id))!;
    return this.json(200, this.accountView(now), { location: this.url(`acct/${a.id}`) });
  }

  private async accountOrders(auth: Required<Pick<Authenticated, 'account'>> & Authenticated, id: string): Promise<AcmeResponse> {
    if (id !== auth.account.id) throw new AcmeProblem('unauthorized', 'orders: want the account\'s own orders');
    const rows = await this.o.store.db.query<{ id: string }>("SELECT id FROM acme_orders WHERE account_id = $1 AND status IN ('pending', 'ready', 'processing') ORDER BY created_at LIMIT 1000", [id]);
    return this.json(200, { orders: rows.map((r) => this.url(`order/${r.id}`)) });
  }

  private async keyChange(auth: Required<Pick<Authenticated, 'account'>> & Authenticated, url: string): Promise<AcmeResponse> {
    const inner = parseJws(Buffer.from(auth.jws.payload));
    if (inner.header.jwk === undefined) throw new AcmeProblem('malformed', 'keyChange inner JWS: got no "jwk", want the new key');
    if (inner.header.url !== url) throw new AcmeProblem('malformed', `keyChange inner JWS "url": got ${JSON.stringify(inner.header.url ?? null).slice(0, 200)}, want ${url}`);
    const newKey = publicKeyFromJwk(inner.header.jwk);
    verifyJws(inner, newKey);
    const p = payloadObject(inner);
    if (p.account !== this.url(`acct/${auth.account.id}`)) throw new AcmeProblem('malformed', `keyChange "account": got ${JSON.stringify(p.account)?.slice(0, 200)}, want ${this.url(`acct/${auth.account.id}`)}`);
    if (typeof p.oldKey !== 'object' || p.oldKey === null || jwkThumbprint(publicKeyFromJwk(p.oldKey as Record<string, unknown>)) !== auth.account.thumbprint) {
      throw new AcmeProblem('malformed', 'keyChange "oldKey": got a key other than the account\'s current key, want the current key');
    }
    const thumbprint = jwkThumbprint(newKey);
    const outcome = await this.o.store.changeAccountKey(auth.account.id, auth.account.thumbprint, thumbprint, JSON.stringify(publicJwk(newKey)));
    if (outcome === 'key-in-use') throw new AcmeProblem('malformed', 'keyChange: got a new key that another account already uses, want a key of no account', { status: 409 });
    if (outcome === 'stale') throw new AcmeProblem('malformed', 'keyChange: the account key changed meanwhile; sign with the current key', { status: 409 });
    await this.o.ca.audit({ action: 'acme.account.key-change', outcome: 'ok', subject: auth.account.id, actor: `acme:${auth.account.id}`, details: { from: auth.account.thumbprint, to: thumbprint } });
    const now = (await this.o.store.account(auth.account.id))!;
    return this.json(200, this.accountView(now), { location: this.url(`acct/${now.id}`) });
  }

  // ---- orders

  private async newOrder(auth: Required<Pick<Authenticated, 'account'>> & Authenticated): Promise<AcmeResponse> {
    const a = auth.account;
    const p = payloadObject(auth.jws);
    const wait = await this.wait(`orders:${a.id}`, this.ordersByAccount);
    if (wait) throw new AcmeProblem('rateLimited', `too many new orders from account ${a.id}: the limit is ${this.ordersByAccount.perMinute} a minute; retry after ${wait} s`, { retryAfter: wait });
    if (p.notBefore !== undefined || p.notAfter !== undefined) throw new AcmeProblem('malformed', 'notBefore/notAfter: got a validity request, want none (the server-tls profile sets validity)');
    if (!Array.isArray(p.identifiers) || p.identifiers.length === 0 || p.identifiers.length > MAX_IDENTIFIERS) {
      throw new AcmeProblem('malformed', `identifiers: got ${Array.isArray(p.identifiers) ? `${p.identifiers.length} identifiers` : typeof p.identifiers}, want an array of 1-${MAX_IDENTIFIERS}`);
    }
    const values = new Set<string>();
    for (const i of p.identifiers as unknown[]) {
      const o = (typeof i === 'object' && i !== null ? i : {}) as Record<string, unknown>;
      if (o.type !== 'dns') throw new AcmeProblem('unsupportedIdentifier', `identifier type: got ${JSON.stringify(o.type)?.slice(0, 40)}, want "dns"`);
      checkDnsIdentifier(o.value);
      values.add(o.value as string);
    }
    enforceSitePolicy(this.o.fabric, a.site, [...values]);
    const now = this.now();
    // A valid authorization of this account for the same name, with an hour or more left, is reused (RFC 8555 §7.4).
    const names = [...values].sort().map((value) => ({ value, ...checkDnsIdentifier(value) }));
    const reused = new Map<string, AuthzRow>();
    for (const n of names) {
      const r = await this.o.store.reusableAuthorization(a.id, n.name, n.wildcard, new Date(now.getTime() + REUSE_MIN_LEFT_MS));
      if (r) reused.set(n.value, r);
    }
    const expiresMs = Math.min(now.getTime() + ORDER_LIFETIME_MS, ...[...reused.values()].map((r) => Date.parse(r.expires_at)));
    const expires = new Date(expiresMs).toISOString();
    const order: OrderRow = { id: newId(), account_id: a.id, status: reused.size === names.length ? 'ready' : 'pending', identifiers: JSON.stringify(names.map((n) => n.value)), expires_at: expires, error: null, certificate_id: null, created_at: now.toISOString() };
    const authzs = names.filter((n) => !reused.has(n.value)).map(({ name, wildcard }) => {
      const authz: AuthzRow = { id: newId(), order_id: order.id, account_id: a.id, identifier: name, wildcard: wildcard ? 1 : 0, status: 'pending', expires_at: expires };
      const types: ChallengeRow['type'][] = wildcard ? ['dns-01'] : ['http-01', 'dns-01', 'tls-alpn-01'];
      const challenges: ChallengeRow[] = types.map((type) => ({ id: newId(), authz_id: authz.id, type, token: newId() + newId(), status: 'pending', validated_at: null, error: null }));
      return { authz, challenges };
    });
    if (!(await this.o.store.createOrder(order, authzs, [...reused.values()].map((r) => r.id)))) throw new AcmeProblem('serverInternal', 'an authorization this order would reuse changed meanwhile; place the order again', { status: 503, retryAfter: 1 });
    return this.json(201, await this.orderView(order), { location: this.url(`order/${order.id}`) });
  }

  private async orderView(o: OrderRow): Promise<Record<string, unknown>> {
    const authzs = await this.o.store.authorizationsOf(o.id);
    return {
      status: o.status,
      expires: o.expires_at,
      identifiers: (JSON.parse(o.identifiers) as string[]).map((value) => ({ type: 'dns', value })),
      authorizations: authzs.map((a) => this.url(`authz/${a.id}`)),
      finalize: this.url(`order/${o.id}/finalize`),
      ...(o.certificate_id ? { certificate: this.url(`cert/${o.certificate_id}`) } : {}),
      ...(o.error ? { error: JSON.parse(o.error) } : {}),
    };
  }

  private async ownOrder(a: AccountRow, id: string): Promise<OrderRow> {
    let o = await this.o.store.order(id ?? '');
    if (!o) throw new AcmeProblem('malformed', `order ${String(id).slice(0, 40)}: no such order`, { status: 404 });
    if (o.account_id !== a.id) throw new AcmeProblem('unauthorized', `order ${o.id}: got a request from account ${a.id}, want the account that placed it`);
    const now = this.now();
    if ((o.status === 'pending' || o.status === 'ready') && Date.parse(o.expires_at) <= now.getTime()) {
      await this.o.store.expire(now);
      o = (await this.o.store.order(o.id))!;
    } else if (o.status === 'processing' && (o.claimed_at == null || Date.parse(o.claimed_at) <= now.getTime() - PROCESSING_STALE_MS)) {
      await this.recover(o);
      o = (await this.o.store.order(o.id))!;
    }
    return o;
  }

  /**
   * Expire what is past its time and recover finalize calls whose process died between
   * `processing` and `valid` (the service runs it at start and every minute; requests for such an
   * order run it for that order).
   */
  async sweep(): Promise<{ expiredOrders: number; expiredAuthorizations: number; recovered: number }> {
    const now = this.now();
    const { orders, authorizations } = await this.o.store.expire(now);
    let recovered = 0;
    for (const o of await this.o.store.staleProcessing(new Date(now.getTime() - PROCESSING_STALE_MS))) if (await this.recover(o)) recovered++;
    return { expiredOrders: orders, expiredAuthorizations: authorizations, recovered };
  }

  /**
   * A processing order whose finalize died: when the PKI recorded a certificate for the CSR's key
   * after the claim, link it (the order becomes valid); otherwise nothing was issued and the order
   * goes back to ready (or invalid once expired), so the client can finalize again.
   */
  private async recover(o: OrderRow): Promise<boolean> {
    const account = await this.o.store.account(o.account_id);
    if (!account) return false;
    const since = new Date(Date.parse(o.claimed_at ?? o.created_at) - CLOCK_SKEW_MS);
    const issued = o.csr_key ? await this.o.ca.issuedForKey({ site: account.site, since, spkiSha256: o.csr_key }) : undefined;
    if (!issued) return this.o.store.releaseClaim(o, this.now());
    const linked = await this.o.store.orderIssued(o.id, {
      id: newId(),
      serial: issued.serial,
      account_id: o.account_id,
      order_id: o.id,
      chain_pem: [issued.certificateDer, ...issued.chainDer.slice(0, -1)].map((d) => toPem(d)).join(''),
      not_before: issued.notBefore.toISOString(),
      not_after: issued.notAfter.toISOString(),
      created_at: this.now().toISOString(),
    });
    if (linked) await this.o.ca.audit({ action: 'acme.order.recover', outcome: 'ok', subject: o.id, actor: 'jinbao-serve', details: { serial: issued.serial, claimedAt: o.claimed_at } });
    return linked;
  }

  private async orderGet(auth: Required<Pick<Authenticated, 'account'>> & Authenticated, id: string): Promise<AcmeResponse> {
    const o = await this.ownOrder(auth.account, id);
    return this.json(200, await this.orderView(o), o.status === 'processing' ? { 'retry-after': '1' } : {});
  }

  /**
   * Finalize: the CSR must name exactly the order's identifiers. The order moves ready → processing
   * with a conditional update that one request wins (in any process); every concurrent finalize
   * of the same order gets orderNotReady, so an order yields at most one certificate.
   */
  private async finalize(auth: Required<Pick<Authenticated, 'account'>> & Authenticated, id: string): Promise<AcmeResponse> {
    const a = auth.account;
    const order = await this.ownOrder(a, id);
    const p = payloadObject(auth.jws);
    if (order.status !== 'ready') throw new AcmeProblem('orderNotReady', `order ${order.id} is ${order.status}; want a ready order (every authorization valid, not finalized yet)`);
    const csrDer = fromB64url(p.csr, 'csr');
    let csr;
    try {
      csr = parseCsr(csrDer);
    } catch (err) {
      throw new AcmeProblem('badCSR', err instanceof InputError ? err.message : 'csr: got something that is not a PKCS#10 request');
    }
    const want = JSON.parse(order.identifiers) as string[];
    const cn = csr.subject.filter((s) => s.type === 'CN').map((s) => s.value.toLowerCase());
    const got = new Set([...csr.requested.dns.map((d) => d.toLowerCase()), ...cn]);
    const missing = want.filter((w) => !got.has(w));
    const extra = [...got].filter((g) => !want.includes(g));
    if (missing.length || extra.length || csr.requested.ip.length || csr.requested.email.length) {
      const parts = [extra.length ? `names not in the order: ${extra.join(', ')}` : '', missing.length ? `order names missing: ${missing.join(', ')}` : '', csr.requested.ip.length || csr.requested.email.length ? 'IP or email subjectAltNames' : ''].filter(Boolean);
      throw new AcmeProblem('badCSR', `CSR: got ${parts.join('; ')}; want exactly the order's DNS names ${want.join(', ')}`);
    }
    if (!(await this.o.store.claimFinalize(order.id, this.now(), createHash('sha256').update(csr.spkiDer).digest('hex')))) throw new AcmeProblem('orderNotReady', `order ${order.id} is being finalized or was finalized by another request; poll the order`);
    let issued;
    try {
      issued = await this.o.ca.issueFromCsr({ csrDer, site: a.site, application: a.application ?? applicationOfNames(this.o.fabric, a.site, want), commonName: want[0]!, validityDays: this.o.validityDays ?? 90, actor: `acme:${a.id}` });
    } catch (err) {
      const problem = err instanceof InputError ? new AcmeProblem('badCSR', err.message) : new AcmeProblem('serverInternal', 'issuance failed; it is logged, place a new order');
      if (!(err instanceof InputError)) this.o.onInternalError?.(err, { method: 'POST', path: `/acme/order/${order.id}/finalize`, contentType: undefined, body: Buffer.alloc(0), remoteAddress: '' });
      await this.o.store.orderInvalid(order.id, JSON.stringify(problem.document()));
      throw problem;
    }
    const now = this.now();
    await this.o.store.orderIssued(order.id, {
      id: newId(),
      serial: issued.serial,
      account_id: a.id,
      order_id: order.id,
      chain_pem: [issued.certificateDer, ...issued.chainDer.slice(0, -1)].map((d) => toPem(d)).join(''),
      not_before: issued.notBefore.toISOString(),
      not_after: issued.notAfter.toISOString(),
      created_at: now.toISOString(),
    });
    const done = (await this.o.store.order(order.id))!;
    return this.json(200, await this.orderView(done), { location: this.url(`order/${order.id}`) });
  }

  // ---- authorizations and challenges

  private challengeView(c: ChallengeRow): Record<string, unknown> {
    return {
      type: c.type,
      url: this.url(`chall/${c.id}`),
      token: c.token,
      status: c.status,
      ...(c.validated_at ? { validated: c.validated_at } : {}),
      ...(c.error ? { error: JSON.parse(c.error) } : {}),
    };
  }

  private async ownAuthz(a: AccountRow, id: string): Promise<AuthzRow> {
    let authz = await this.o.store.authorization(id ?? '');
    if (!authz) throw new AcmeProblem('malformed', `authorization ${String(id).slice(0, 40)}: no such authorization`, { status: 404 });
    if (authz.account_id !== a.id) throw new AcmeProblem('unauthorized', `authorization ${authz.id}: want the account that owns it`);
    const now = this.now();
    if ((authz.status === 'pending' || authz.status === 'valid') && Date.parse(authz.expires_at) <= now.getTime()) {
      await this.o.store.expire(now);
      authz = (await this.o.store.authorization(authz.id))!;
    }
    return authz;
  }

  private async authzView(authz: AuthzRow): Promise<Record<string, unknown>> {
    const challenges = await this.o.store.challengesOf(authz.id);
    return {
      identifier: { type: 'dns', value: authz.identifier },
      status: authz.status,
      expires: authz.expires_at,
      challenges: challenges.map((c) => this.challengeView(c)),
      ...(authz.wildcard ? { wildcard: true } : {}),
    };
  }

  private async authzPost(auth: Required<Pick<Authenticated, 'account'>> & Authenticated, id: string): Promise<AcmeResponse> {
    let authz = await this.ownAuthz(auth.account, id);
    if (auth.jws.payload.length > 0) {
      const p = payloadObject(auth.jws);
      if (p.status !== 'deactivated') throw new AcmeProblem('malformed', `status: got ${JSON.stringify(p.status)?.slice(0, 40)}, want "deactivated"`);
      await this.o.store.deactivateAuthorization(authz.id);
      authz = (await this.o.store.authorization(authz.id))!;
    }
    return this.json(200, await this.authzView(authz), authz.status === 'pending' ? { 'retry-after': '1' } : {});
  }

  private keyAuthorization(token: string, key: KeyObject): string {
    return `${token}.${jwkThumbprint(key)}`;
  }

  private async challengePost(auth: Required<Pick<Authenticated, 'account'>> & Authenticated, id: string): Promise<AcmeResponse> {
    const c = await this.o.store.challenge(id ?? '');
    if (!c) throw new AcmeProblem('malformed', `challenge ${String(id).slice(0, 40)}: no such challenge`, { status: 404 });
    const authz = await this.ownAuthz(auth.account, c.authz_id);
    if (auth.jws.payload.length > 0) {
      payloadObject(auth.jws);
      if (authz.status === 'pending' && (await this.o.store.startChallenge(c.id))) {
        const check = { type: c.type, name: authz.identifier, token: c.token, keyAuthorization: this.keyAuthorization(c.token, auth.key) };
        const run = this.o.validator
          .validate(check)
          .then(
            () => this.o.store.finishChallenge(c, { ok: true, at: this.now() }),
            (err: unknown) => {
              const problem = err instanceof AcmeProblem ? err : new AcmeProblem('connection', `${c.type} for ${authz.identifier}: validation failed`);
              return this.o.store.finishChallenge(c, { ok: false, error: JSON.stringify(problem.document()) });
            },
          )
          .catch((err: unknown) => this.o.onInternalError?.(err, { method: 'POST', path: `/acme/chall/${c.id}`, contentType: undefined, body: Buffer.alloc(0), remoteAddress: '' }))
          .finally(() => this.inFlight.delete(run));
        this.inFlight.add(run);
      }
    }
    const now = (await this.o.store.challenge(c.id))!;
    return this.json(200, this.challengeView(now), { link: `${this.indexLink()}, <${this.url(`authz/${authz.id}`)}>;rel="up"` });
  }

  // ---- certificates

  private async certificateGet(auth: Required<Pick<Authenticated, 'account'>> & Authenticated, id: string): Promise<AcmeResponse> {
    const cert = await this.o.store.certificate(id ?? '');
    if (!cert) throw new AcmeProblem('malformed', `certificate ${String(id).slice(0, 40)}: no such certificate`, { status: 404 });
    if (cert.account_id !== auth.account.id) throw new AcmeProblem('unauthorized', `certificate ${cert.id}: want the account that ordered it`);
    return { status: 200, headers: { 'content-type': 'application/pem-certificate-chain', link: this.indexLink() }, body: cert.chain_pem };
  }

  private async revokeCert(auth: Authenticated): Promise<AcmeResponse> {
    const p = payloadObject(auth.jws);
    const der = fromB64url(p.certificate, 'certificate');
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(der);
    } catch {
      throw new AcmeProblem('malformed', 'certificate: got something that is not a DER certificate');
    }
    const serial = normalizeSerial(x509.serialNumber);
    const known = await this.o.ca.certificate(serial);
    if (!known || !Buffer.from(known.der).equals(der)) throw new AcmeProblem('malformed', `certificate ${serial}: got a certificate this CA did not issue`, { status: 404 });
    const reasonCode = p.reason === undefined ? 0 : p.reason;
    const reason = typeof reasonCode === 'number' ? ACME_REVOCATION_REASONS.get(reasonCode) : undefined;
    if (!reason) throw new AcmeProblem('badRevocationReason', `reason: got ${JSON.stringify(reasonCode)?.slice(0, 20)}, want one of ${[...ACME_REVOCATION_REASONS.keys()].join(', ')} (RFC 5280 codes; CA compromise and hold are the operator's)`);
    const ownRecord = await this.o.store.certificateBySerial(serial);
    const byAccount = auth.jws.header.kid !== undefined && auth.account !== undefined && ownRecord?.account_id === auth.account.id;
    const byCertKey = auth.jws.header.jwk !== undefined && jwkThumbprint(auth.key) === jwkThumbprint(x509.publicKey);
    if (!byAccount && !byCertKey) throw new AcmeProblem('unauthorized', `certificate ${serial}: got a request from ${auth.account ? `account ${auth.account.id}, which did not order it` : 'a key that is not the certificate\'s'}, want the ordering account or the certificate key`);
    if (known.status === 'revoked') throw new AcmeProblem('alreadyRevoked', `certificate ${serial} is already revoked`);
    try {
      await this.o.ca.revoke(serial, reason, auth.account ? `acme:${auth.account.id}` : `acme-certificate-key:${serial}`);
    } catch (err) {
      if (err instanceof InputError && /already revoked/.test(err.message)) throw new AcmeProblem('alreadyRevoked', `certificate ${serial} is already revoked`);
      throw err;
    }
    return { status: 200, headers: { link: this.indexLink(), 'content-length': '0' }, body: '' };
  }

  /** RFC 9773: when to renew, by certificate id (base64url AKI keyIdentifier "." base64url serial). */
  private async renewalInfo(certId: string): Promise<AcmeResponse> {
    const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(certId);
    if (!m) throw new AcmeProblem('malformed', `renewalInfo: got ${JSON.stringify(certId.slice(0, 80))}, want base64url(keyIdentifier).base64url(serial)`);
    const serial = normalizeSerial(Buffer.from(m[2]!, 'base64url').toString('hex') || '00');
    const cert = await this.o.ca.certificate(serial);
    if (!cert) throw new AcmeProblem('malformed', `renewalInfo: no certificate with serial ${serial}`, { status: 404 });
    const aki = new X509Certificate(Buffer.from(cert.der));
    const akiWant = akiOf(aki);
    if (akiWant !== undefined && akiWant !== m[1]) throw new AcmeProblem('malformed', `renewalInfo: got keyIdentifier ${m[1]}, want that of the certificate's issuer`, { status: 404 });
    const nb = cert.notBefore.getTime();
    const life = cert.notAfter.getTime() - nb;
    const now = this.now().getTime();
    const window = cert.status === 'revoked' ? { start: new Date(now - 3_600_000), end: new Date(now) } : { start: new Date(nb + (life * 2) / 3), end: new Date(nb + (life * 5) / 6) };
    return this.json(200, { suggestedWindow: { start: window.start.toISOString(), end: window.end.toISOString() } }, { 'retry-after': '21600' });
  }
}

function need<T extends Authenticated>(auth: T): T & Required<Pick<Authenticated, 'account'>> {
  if (!auth.account) throw new AcmeProblem('accountDoesNotExist', 'no account has this key');
  return auth as T & Required<Pick<Authenticated, 'account'>>;
}

/** The AuthorityKeyIdentifier keyIdentifier of a certificate, base64url (what ARI certificate ids start with). */
function akiOf(cert: X509Certificate): string | undefined {
  const der = cert.raw;
  // 2.5.29.35 followed by an OCTET STRING wrapping SEQUENCE { [0] keyIdentifier }
  const oid = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x23]);
  const at = der.indexOf(oid);
  if (at < 0) return undefined;
  let i = at + oid.length;
  if (der[i] === 0x01) i += 3; // critical BOOLEAN
  if (der[i] !== 0x04) return undefined;
  i += 2; // OCTET STRING (short length)
  if (der[i] !== 0x30) return undefined;
  i += 2;
  if (der[i] !== 0x80) return undefined;
  const len = der[i + 1]!;
  return b64url(der.subarray(i + 2, i + 2 + len));
}

/** The ARI certificate id of a certificate (for clients and tests). */
export function renewalCertId(certDer: Uint8Array): string {
  const x = new X509Certificate(Buffer.from(certDer));
  const serialHex = normalizeSerial(x.serialNumber);
  return `${akiOf(x) ?? ''}.${b64url(Buffer.from(serialHex, 'hex'))}`;
}

