/**
 * What happens to orders and authorizations over time: past `expires` they become invalid (on
 * access and by the sweep), valid authorizations are reused by the same account's new orders, and
 * a finalize whose process died between `processing` and `valid` is recovered.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { p256Csr, type AcmeClient } from '../../pki/acme/client.js';
import { AcmeStore } from '../../pki/acme/index.js';
import type { Database } from '../../lib/sql/index.js';
import { startFixture, type Fixture } from './fixture.js';

let f: Fixture;
let db: Database;
let store: AcmeStore;

beforeAll(async () => {
  f = await startFixture();
  db = await f.ctx.database();
  store = await AcmeStore.open(db);
});
afterAll(async () => {
  await f?.close();
});

const idOf = (url: string) => url.split('/').pop()!;
const past = (ms: number) => new Date(Date.now() - ms).toISOString();

async function readyOrder(c: AcmeClient, name: string) {
  const order = await c.newOrder([name]);
  const ready = await c.authorize(order, (t, k) => f.challenges.tokens.set(t, k));
  expect(ready.status).toBe('ready');
  return ready;
}

describe('expiry', () => {
  it('GIVEN a pending order past its expires WHEN the client reads it and its authorization THEN both are invalid', async () => {
    const c = await f.account('440100');
    const order = await c.newOrder(['app.s440100.jinbao.internal']);
    await db.run('UPDATE acme_orders SET expires_at = $1 WHERE id = $2', [past(1000), idOf(order.url)]);
    await db.run('UPDATE acme_authorizations SET expires_at = $1 WHERE id = $2', [past(1000), idOf(order.authorizations[0]!)]);
    const o = await c.getJson<{ status: string; error?: { detail: string } }>(order.url);
    expect(o.status).toBe('invalid');
    expect(o.error?.detail).toContain('the order expired before it was finalized');
    expect((await c.getJson<{ status: string }>(order.authorizations[0]!)).status).toBe('invalid');
  });

  it('GIVEN a ready order past its expires WHEN it is finalized THEN orderNotReady and nothing is issued', async () => {
    const c = await f.account('440100');
    const ready = await readyOrder(c, 'api.s440100.jinbao.internal');
    await db.run('UPDATE acme_orders SET expires_at = $1 WHERE id = $2', [past(1000), idOf(ready.url)]);
    const before = await f.certificates();
    const fin = await c.finalize(ready, p256Csr(['api.s440100.jinbao.internal']).der);
    expect(fin.status).toBe(403);
    expect(JSON.parse(fin.body.toString()).type).toBe('urn:ietf:params:acme:error:orderNotReady');
    expect(await f.certificates()).toBe(before);
  });

  it('GIVEN orders nobody reads WHEN the sweep runs THEN pending ones and their authorizations turn invalid and valid authorizations past expires turn expired', async () => {
    const c = await f.account('440100');
    const pending = await c.newOrder(['www.s440100.jinbao.internal']);
    const valid = await readyOrder(c, 'db.440100.jinbao.internal');
    await db.run('UPDATE acme_orders SET expires_at = $1 WHERE id IN ($2, $3)', [past(1000), idOf(pending.url), idOf(valid.url)]);
    await db.run('UPDATE acme_authorizations SET expires_at = $1 WHERE id IN ($2, $3)', [past(1000), idOf(pending.authorizations[0]!), idOf(valid.authorizations[0]!)]);
    const swept = await f.running.acme.sweep();
    expect(swept.expiredOrders).toBeGreaterThanOrEqual(2);
    expect(swept.expiredAuthorizations).toBeGreaterThanOrEqual(2);
    expect((await store.order(idOf(pending.url)))!.status).toBe('invalid');
    expect((await store.order(idOf(valid.url)))!.status).toBe('invalid');
    expect((await store.authorization(idOf(pending.authorizations[0]!)))!.status).toBe('invalid');
    expect((await store.authorization(idOf(valid.authorizations[0]!)))!.status).toBe('expired');
  });
});

describe('reuse of valid authorizations', () => {
  it('GIVEN an account with a valid authorization for a name WHEN it orders the name again THEN the order is ready at once with the same authorization, and finalizes', async () => {
    const c = await f.account('440100');
    const first = await readyOrder(c, 'app.s440100.jinbao.internal');
    const again = await c.newOrder(['app.s440100.jinbao.internal']);
    expect(again.status).toBe('ready');
    expect(again.authorizations).toEqual(first.authorizations);
    expect(Date.parse(again.expires)).toBeLessThanOrEqual(Date.parse(first.expires));
    const fin = await c.finalize(again, p256Csr(['app.s440100.jinbao.internal']).der);
    expect(fin.status, fin.body.toString()).toBe(200);
  });

  it('GIVEN two names of which one is authorized WHEN ordered together THEN only the other gets a new pending authorization', async () => {
    const c = await f.account('440100');
    const first = await readyOrder(c, 'api.s440100.jinbao.internal');
    const both = await c.newOrder(['api.s440100.jinbao.internal', 'www.s440100.jinbao.internal']);
    expect(both.status).toBe('pending');
    expect(both.authorizations).toContain(first.authorizations[0]);
    const other = both.authorizations.find((u) => u !== first.authorizations[0])!;
    expect((await c.getJson<{ status: string }>(other)).status).toBe('pending');
  });

  it('GIVEN a valid authorization of another account, or one with less than an hour left WHEN a new order names it THEN it is not reused', async () => {
    const owner = await f.account('440100');
    const first = await readyOrder(owner, 'www.s440100.jinbao.internal');
    const stranger = await f.account('440100');
    const theirs = await stranger.newOrder(['www.s440100.jinbao.internal']);
    expect(theirs.status).toBe('pending');
    expect(theirs.authorizations).not.toContain(first.authorizations[0]);
    await db.run('UPDATE acme_authorizations SET expires_at = $1 WHERE id = $2', [new Date(Date.now() + 30 * 60_000).toISOString(), idOf(first.authorizations[0]!)]);
    const late = await owner.newOrder(['www.s440100.jinbao.internal']);
    expect(late.status).toBe('pending');
    expect(late.authorizations).not.toContain(first.authorizations[0]);
  });
});

describe('a finalize that died between processing and valid', () => {
  it('GIVEN a processing order claimed two minutes ago and nothing issued WHEN the client polls it THEN it is ready again and finalizes', async () => {
    const c = await f.account('440100');
    const ready = await readyOrder(c, 'app.s440100.jinbao.internal');
    const csr = p256Csr(['app.s440100.jinbao.internal']);
    expect(await store.claimFinalize(idOf(ready.url), new Date(Date.now() - 120_000), 'no-such-key')).toBe(true);
    const o = await c.getJson<{ status: string }>(ready.url);
    expect(o.status).toBe('ready');
    const fin = await c.finalize(ready, csr.der);
    expect(fin.status, fin.body.toString()).toBe(200);
    expect(JSON.parse(fin.body.toString()).status).toBe('valid');
  });

  it('GIVEN a processing order whose certificate was signed and recorded before the process died WHEN the sweep runs THEN the order is valid with that certificate and no second one is issued', async () => {
    const c = await f.account('440100');
    const ready = await readyOrder(c, 'api.s440100.jinbao.internal');
    const csr = p256Csr(['api.s440100.jinbao.internal']);
    const spki = createHash('sha256').update(createPublicKey(csr.key).export({ type: 'spki', format: 'der' })).digest('hex');
    expect(await store.claimFinalize(idOf(ready.url), new Date(Date.now() - 120_000), spki)).toBe(true);
    const account = (await store.order(idOf(ready.url)))!.account_id;
    const issued = await f.running.pki.issueFromCsr({ csrDer: csr.der, site: '440100', application: null, commonName: 'api.s440100.jinbao.internal', validityDays: 90, actor: `acme:${account}` });
    const before = await f.certificates();
    const swept = await f.running.acme.sweep();
    expect(swept.recovered).toBe(1);
    const o = await c.getJson<{ status: string; certificate?: string }>(ready.url);
    expect(o.status).toBe('valid');
    const chain = await c.certificate(o.certificate!);
    expect(chain).toContain(Buffer.from(issued.certificateDer).toString('base64').slice(0, 60));
    expect(await f.certificates()).toBe(before);
    expect((await f.audit('acme.order.recover')).some((e) => e.details.serial === issued.serial)).toBe(true);
  });

  it('GIVEN an order claimed a moment ago (a finalize in flight, perhaps in another process) WHEN polled or swept THEN it stays processing', async () => {
    const c = await f.account('440100');
    const ready = await readyOrder(c, 'www.s440100.jinbao.internal');
    expect(await store.claimFinalize(idOf(ready.url), new Date(), 'in-flight')).toBe(true);
    await f.running.acme.sweep();
    expect((await c.getJson<{ status: string }>(ready.url)).status).toBe('processing');
  });
});
