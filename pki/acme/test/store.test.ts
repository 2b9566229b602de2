import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../../lib/sql/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../../lib/test/postgres-server.js';
import { AcmeStore, newId, type AccountRow, type OrderRow } from '../store.js';

/**
 * The ACME state as two `jinbao serve` processes see it through two connections to one PostgreSQL
 * database: nonces, EAB keys and finalize claims are single-use across both. (Two SQLite
 * connections cannot be driven from one test process: the second BEGIN IMMEDIATE blocks the event
 * loop the first needs to commit; the service test covers SQLite with one connection.)
 */
const missing = postgresMissing();
let server: PostgresServer | undefined;
let n = 0;
const dirs: string[] = [];
const opened: Database[] = [];

beforeAll(async () => {
  if (missing === undefined) server = await startPostgres({ prefix: 'jinbao-acme-pg-' });
});
afterAll(async () => {
  for (const d of opened) await d.close();
  await server?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const backends = [
  { name: 'PostgreSQL', skip: missing !== undefined, fresh: async () => { const db = `acme_${++n}`; await server!.sql(`CREATE DATABASE ${db}`); return server!.url({ dbname: db, sslmode: 'disable' }); } },
];

async function twoProcesses(target: string): Promise<[AcmeStore, AcmeStore]> {
  const a = await openDatabase(target);
  const b = await openDatabase(target);
  opened.push(a, b);
  // Both migrate at once, as two processes starting together would.
  return Promise.all([AcmeStore.open(a), AcmeStore.open(b)]);
}

const account = (id: string, kid: string): AccountRow => ({ id, thumbprint: `tp-${id}`, jwk: '{}', status: 'valid', contact: '[]', site: '440100', application: null, eab_kid: kid, created_at: new Date().toISOString() });

describe.each(backends)('ACME state shared by two processes on $name', ({ skip, fresh }) => {
  it.skipIf(skip)('GIVEN a nonce handed out by one THEN the other accepts it exactly once; unknown and expired nonces are refused', async () => {
    const [a, b] = await twoProcesses(await fresh());
    const nonce = await a.newNonce();
    expect((await b.useNonce(nonce)).ok).toBe(true);
    expect((await a.useNonce(nonce)).ok).toBe(false);
    expect((await b.useNonce('never-issued')).ok).toBe(false);
    const old = await a.newNonce(new Date(Date.now() - 11 * 60_000));
    expect((await b.useNonce(old)).ok).toBe(false);
    const many = await Promise.all(Array.from({ length: 20 }, () => a.newNonce()));
    const uses = await Promise.all(many.flatMap((x) => [a.useNonce(x).then((u) => u.ok), b.useNonce(x).then((u) => u.ok)]));
    expect(uses.filter(Boolean)).toHaveLength(20);
  });

  it.skipIf(skip)('GIVEN one EAB key THEN two concurrent newAccounts in two processes make one account', async () => {
    const [a, b] = await twoProcesses(await fresh());
    await a.insertEabKey({ kid: 'k1', site: '440100', application: null, salt: Buffer.alloc(16), iv: Buffer.alloc(12), ciphertext: Buffer.alloc(32, 7), tag: Buffer.alloc(16), created_at: new Date().toISOString(), expires_at: new Date(Date.now() + 86_400_000).toISOString(), account_id: null });
    const outcomes = await Promise.all([a.createAccount(account('one', 'k1')), b.createAccount(account('two', 'k1'))]);
    expect(outcomes.sort()).toEqual(['created', 'eab-used']);
    const row = await b.eabKey('k1');
    expect(Buffer.from(row!.ciphertext).equals(Buffer.alloc(32, 7))).toBe(true);
    expect(['one', 'two']).toContain(row!.account_id);
  });

  it.skipIf(skip)('GIVEN a ready order THEN concurrent finalize claims from two processes succeed exactly once', async () => {
    const [a, b] = await twoProcesses(await fresh());
    const order: OrderRow = { id: newId(), account_id: 'acct', status: 'ready', identifiers: '["a.s440100.jinbao.internal"]', expires_at: new Date(Date.now() + 86_400_000).toISOString(), error: null, certificate_id: null, created_at: new Date().toISOString() };
    await a.createOrder(order, []);
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).claimFinalize(order.id, new Date(), 'spki')));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect((await b.order(order.id))!.status).toBe('processing');
  });

  it.skipIf(skip)('GIVEN a stale claim, reused and expired rows THEN release, reuse links, readiness and expiry work in PostgreSQL\'s SQL too', async () => {
    const [a, b] = await twoProcesses(await fresh());
    const now = Date.now();
    const iso = (ms: number) => new Date(now + ms).toISOString();
    const order = (id: string, status: OrderRow['status'], expires: number): OrderRow => ({ id, account_id: 'acct', status, identifiers: '["a.s440100.jinbao.internal"]', expires_at: iso(expires), error: null, certificate_id: null, created_at: iso(0) });
    const authz = (id: string, orderId: string, status: 'pending' | 'valid', expires: number) => ({ authz: { id, order_id: orderId, account_id: 'acct', identifier: 'a.s440100.jinbao.internal', wildcard: 0, status, expires_at: iso(expires) }, challenges: [{ id: `c-${id}`, authz_id: id, type: 'http-01' as const, token: `t-${id}`, status: 'pending' as const, validated_at: null, error: null }] });
    expect(await a.createOrder(order('o1', 'pending', 86_400_000), [authz('z1', 'o1', 'pending', 86_400_000)])).toBe(true);
    await b.finishChallenge((await b.challenge('c-z1'))!, { ok: true, at: new Date() });
    expect((await a.order('o1'))!.status).toBe('ready');
    const reusable = await b.reusableAuthorization('acct', 'a.s440100.jinbao.internal', false, new Date(now + 3_600_000));
    expect(reusable?.id).toBe('z1');
    expect(await b.createOrder(order('o2', 'ready', 86_400_000), [], ['z1'])).toBe(true);
    expect((await a.authorizationsOf('o2')).map((z) => z.id)).toEqual(['z1']);
    expect(await a.claimFinalize('o2', new Date(now - 120_000), 'k')).toBe(true);
    const stale = await b.staleProcessing(new Date(now - 60_000));
    expect(stale.map((o) => o.id)).toEqual(['o2']);
    expect(await b.releaseClaim(stale[0]!, new Date())).toBe(true);
    expect(await a.releaseClaim(stale[0]!, new Date())).toBe(false);
    expect((await a.order('o2'))!.status).toBe('ready');
    expect(await a.createOrder(order('o3', 'pending', -1000), [authz('z3', 'o3', 'pending', -1000)])).toBe(true);
    expect(await b.expire(new Date())).toEqual({ orders: 1, authorizations: 1 });
    expect((await a.order('o3'))!.status).toBe('invalid');
    expect((await a.authorization('z3'))!.status).toBe('invalid');
  });
});
