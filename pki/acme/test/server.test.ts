import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateInventory } from '../../../fabric/index.js';
import { SqliteDatabase } from '../../../lib/sql/index.js';
import { smallInventory, tempDir } from '../../../testkit/index.js';
import { eabJws, publicJwkOf, signJws } from '../client.js';
import { createEabKey } from '../eab.js';
import { RateLimiter, type RateBuckets, type RateLimit } from '../rate-limit.js';
import { AcmeServer, type AcmeRequest } from '../server.js';
import { AcmeStore } from '../store.js';

/** The protocol without HTTP: the server's handle() over a real store and a PKI port that records what it is asked. */
const PASS = 'correct horse battery staple';
const BASE = 'https://acme.test:8443';
const fabric = validateInventory(smallInventory(), 'small').fabric!;
const { dir, cleanup } = tempDir('jinbao-acme-server-');
let db: SqliteDatabase;
let store: AcmeStore;
const audits: { action: string; outcome: string; details?: Record<string, unknown> }[] = [];

function server(limits: ConstructorParameters<typeof AcmeServer>[0]['limits'], buckets?: RateBuckets): AcmeServer {
  return new AcmeServer({
    ...(buckets ? { buckets } : {}),
    store,
    fabric,
    publicUrl: BASE,
    passphrase: PASS,
    limits,
    validator: { validate: async () => undefined },
    ca: {
      issueFromCsr: async () => { throw new Error('not in this test'); },
      certificate: async () => undefined,
      issuedForKey: async () => undefined,
      revoke: async () => undefined,
      audit: async (e) => void audits.push(e),
    },
  });
}

async function post(s: AcmeServer, key: ReturnType<typeof generateKeyPairSync>['privateKey'], path: string, payload: object | string, header: Record<string, unknown>, remoteAddress = '192.0.2.1'): Promise<ReturnType<AcmeServer['handle']> extends Promise<infer R> ? R : never> {
  const nonce = (await s.handle({ method: 'HEAD', path: '/acme/new-nonce', contentType: undefined, body: Buffer.alloc(0), remoteAddress })).headers['replay-nonce'];
  const req: AcmeRequest = { method: 'POST', path, contentType: 'application/jose+json', body: Buffer.from(JSON.stringify(signJws(key, { nonce, url: `${BASE}${path}`, ...header }, payload))), remoteAddress };
  return s.handle(req);
}

beforeAll(async () => {
  db = SqliteDatabase.open(dir);
  store = await AcmeStore.open(db);
});
afterAll(async () => {
  await db.close();
  cleanup();
});

describe('rate limits', () => {
  it('GIVEN a token bucket THEN it allows the burst, then says how many seconds to wait, and refills with time', () => {
    let now = 0;
    const l = new RateLimiter(60, 2, () => now);
    expect([l.take('a'), l.take('a'), l.take('b')]).toEqual([0, 0, 0]);
    expect(l.take('a')).toBe(1);
    now += 1000;
    expect(l.take('a')).toBe(0);
  });

  it('GIVEN an account over its new-order limit THEN rateLimited (429) with Retry-After, not audited; other accounts go on', async () => {
    const s = server({ newOrdersPerAccountPerMinute: 2 });
    const keys = [generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey];
    const accounts: string[] = [];
    for (const key of keys) {
      const eab = await createEabKey(store, fabric, PASS, { site: '440100' });
      const r = await post(s, key, '/acme/new-account', { externalAccountBinding: eabJws(eab, `${BASE}/acme/new-account`, key) }, { jwk: publicJwkOf(key) });
      expect(r.status, r.body).toBe(201);
      accounts.push(r.headers.location!);
    }
    const order = { identifiers: [{ type: 'dns', value: 'app.s440100.jinbao.internal' }] };
    const statuses: number[] = [];
    let limited;
    for (let i = 0; i < 6; i++) {
      const r = await post(s, keys[0]!, '/acme/new-order', order, { kid: accounts[0] });
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    expect(statuses.filter((x) => x === 201).length).toBeLessThanOrEqual(3);
    expect(limited!.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(JSON.parse(limited!.body)).toMatchObject({ type: 'urn:ietf:params:acme:error:rateLimited', status: 429 });
    expect(audits.some((a) => a.details?.type === 'rateLimited')).toBe(false);
    expect((await post(s, keys[1]!, '/acme/new-order', order, { kid: accounts[1] })).status).toBe(201);
  });

  it('GIVEN buckets held elsewhere (the cluster primary) THEN the server asks them by limit and key, and their refusal is rateLimited with their Retry-After, unaudited', async () => {
    const asked: [string, RateLimit][] = [];
    const s = server({ perAddressPerMinute: 40 }, { take: async (key, limit) => (asked.push([key, limit]), { ok: false, retryAfterSeconds: 7 }) });
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const before = audits.length;
    const r = await post(s, key, '/acme/new-account', { onlyReturnExisting: true }, { jwk: publicJwkOf(key) }, '198.51.100.9');
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBe('7');
    expect(JSON.parse(r.body)).toMatchObject({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many requests from 198.51.100.9: the limit is 40 a minute; retry after 7 s' });
    expect(asked).toEqual([['address:198.51.100.9', { perMinute: 40, burst: 10 }]]);
    expect(audits.length).toBe(before);
  });

  it('GIVEN one address over its request limit THEN rateLimited; another address is served', async () => {
    const s = server({ perAddressPerMinute: 4 });
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await post(s, key, '/acme/new-account', { onlyReturnExisting: true }, { jwk: publicJwkOf(key) }, '198.51.100.7')).status);
    expect(statuses).toContain(429);
    expect((await post(s, key, '/acme/new-account', { onlyReturnExisting: true }, { jwk: publicJwkOf(key) }, '198.51.100.8')).status).toBe(400);
  });
});
