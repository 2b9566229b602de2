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
});
