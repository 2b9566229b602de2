import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../testkit/index.js';
import type { Database } from '../../../lib/sql/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../../lib/test/postgres-server.js';
import type { PkiStore } from '../../index.js';
import { stateBackends } from '../../test/helpers.js';
import { CrlLedger, encodeRevoked, publishCrl } from '../index.js';
import { hasOpenssl, openssl } from './openssl.js';
import { issue, makeCa, openPki, type TestCa } from './test-pki.js';

let server: PostgresServer | undefined;
beforeAll(async () => {
  if (postgresMissing() === undefined) server = await startPostgres({ prefix: 'jinbao-crl-pg-' });
}, 60_000);
afterAll(async () => {
  await server?.close();
});

describe.each(stateBackends(() => server))('CRLs judged by openssl, the store on $name', ({ skip, fresh }) => {
  let dir: string;
  let cleanup: () => void;
  let state: Database;
  let pki: PkiStore;
  let ledger: CrlLedger;
  let ca: TestCa;

  beforeEach(async () => {
    if (skip) return;
    ({ dir, cleanup } = tempDir('jinbao-crl-'));
    ({ state, pki } = await openPki(dir, await fresh()));
    ledger = await CrlLedger.open(state);
    ca = await makeCa(dir, 'staff', pki);
  });
  afterEach(async () => {
    if (skip) return;
    await state.close();
    cleanup();
  });

  const write = (name: string, der: Uint8Array) => {
    const f = join(dir, name);
    writeFileSync(f, der);
    return f;
  };

  it.skipIf(skip || !hasOpenssl)('GIVEN a revoked and a good certificate WHEN a full CRL is published THEN openssl reads it and verify -crl_check rejects only the revoked one', async () => {
    const good = await issue(dir, ca, { cn: 'good', store: pki });
    const bad = await issue(dir, ca, { cn: 'bad', store: pki });
    await pki.markRevoked(bad.serial, 'keyCompromise');

    const crl = await publishCrl({ ledger, registry: pki, signer: ca.signer, deltaUrl: 'http://pki.example/staff-delta.crl' });
    const file = write('full.crl', crl.der);
    writeFileSync(join(dir, 'full.crl.pem'), crl.pem);

    const text = openssl(['crl', '-inform', 'DER', '-in', file, '-noout', '-text']);
    expect(text.status).toBe(0);
    expect(text.out).toMatch(/X509v3 CRL Number:\s*\n\s*1\n/);
    expect(text.out).toContain(`Serial Number: ${bad.serial.toUpperCase()}`);
    expect(text.out).toContain('Key Compromise');
    expect(text.out).toContain('X509v3 Authority Key Identifier');
    expect(text.out).toContain('Freshest CRL');
    expect(text.out).toMatch(/Next Update: /);
    expect(text.out).not.toContain(good.serial.toUpperCase());
    expect(openssl(['crl', '-in', join(dir, 'full.crl.pem'), '-noout', '-CAfile', ca.pemFile]).out).toContain('verify OK');

    const verify = (cert: string) => openssl(['verify', '-crl_check', '-CAfile', ca.pemFile, '-CRLfile', join(dir, 'full.crl.pem'), cert]);
    expect(verify(good.pemFile)).toMatchObject({ status: 0 });
    const revoked = verify(bad.pemFile);
    expect(revoked.status).not.toBe(0);
    expect(revoked.out).toContain('certificate revoked');
  });

  it.skipIf(skip || !hasOpenssl)('GIVEN a base CRL WHEN more certificates are revoked and a delta is published THEN the delta lists only those and openssl -use_deltas applies it', async () => {
    const early = await issue(dir, ca, { cn: 'early', store: pki });
    const late = await issue(dir, ca, { cn: 'late', store: pki });
    await pki.markRevoked(early.serial, 'superseded');
    const base = await publishCrl({ ledger, registry: pki, signer: ca.signer, deltaUrl: 'http://pki.example/staff-delta.crl' });
    await pki.markRevoked(late.serial, 'affiliationChanged');
    const delta = await publishCrl({ ledger, registry: pki, signer: ca.signer, delta: true });

    expect(delta.slot).toMatchObject({ number: 2, baseNumber: 1 });
    expect(delta.entries).toBe(1);
    const deltaFile = write('delta.crl', delta.der);
    const text = openssl(['crl', '-inform', 'DER', '-in', deltaFile, '-noout', '-text']).out;
    expect(text).toMatch(/X509v3 Delta CRL Indicator: critical\s*\n\s*1\n/);
    expect(text).toContain(late.serial.toUpperCase());
    expect(text).not.toContain(early.serial.toUpperCase());

    const pemBoth = join(dir, 'both.pem');
    writeFileSync(pemBoth, base.pem + delta.pem);
    const withDeltas = openssl(['verify', '-crl_check', '-use_deltas', '-CAfile', ca.pemFile, '-CRLfile', pemBoth, late.pemFile]);
    expect(withDeltas.status).not.toBe(0);
    expect(withDeltas.out).toContain('certificate revoked');
    // Without deltas the base alone does not know about the late revocation: proves the delta did the work.
    writeFileSync(join(dir, 'base.pem'), base.pem);
    expect(openssl(['verify', '-crl_check', '-CAfile', ca.pemFile, '-CRLfile', join(dir, 'base.pem'), late.pemFile]).status).toBe(0);
  });

  it.skipIf(skip)('GIVEN full and delta CRLs cut in turn THEN CRL numbers rise by one across both kinds and each delta names the latest full CRL', async () => {
    const numbers: [number, number | undefined][] = [];
    for (const delta of [false, true, true, false, true]) {
      const c = await publishCrl({ ledger, registry: pki, signer: ca.signer, delta });
      numbers.push([c.slot.number, c.slot.baseNumber]);
    }
    expect(numbers).toEqual([
      [1, undefined],
      [2, 1],
      [3, 1],
      [4, undefined],
      [5, 4],
    ]);
    expect((await ledger.list('staff')).map((c) => c.number)).toEqual([5, 4, 3, 2, 1]);
  });

  it.skipIf(skip)('GIVEN no full CRL yet WHEN a delta is asked for THEN it is refused with how to fix it, and no number is used up', async () => {
    await expect(publishCrl({ ledger, registry: pki, signer: ca.signer, delta: true })).rejects.toThrow(
      'CA "staff" has no full CRL yet, so a delta CRL has no base; publish one first with: jinbao pki crl --ca staff',
    );
    expect((await publishCrl({ ledger, registry: pki, signer: ca.signer })).slot.number).toBe(1);
  });

  it.skipIf(skip)('GIVEN a full CRL whose number was taken but never published (the process died) THEN a delta does not use it as its base and the number is not reused', async () => {
    await publishCrl({ ledger, registry: pki, signer: ca.signer });
    await ledger.reserve('staff', { delta: false, revocationSeq: await pki.revocationSeq(), thisUpdate: new Date(), validitySeconds: 60 });
    const delta = await publishCrl({ ledger, registry: pki, signer: ca.signer, delta: true });
    expect(delta.slot).toMatchObject({ number: 3, baseNumber: 1 });
    expect((await ledger.list('staff')).map((c) => c.number)).toEqual([3, 1]);
  });

  it.skipIf(skip || !hasOpenssl)('GIVEN no revocations THEN the CRL omits revokedCertificates and still verifies', async () => {
    const crl = await publishCrl({ ledger, registry: pki, signer: ca.signer });
    const file = write('empty.crl', crl.der);
    const r = openssl(['crl', '-inform', 'DER', '-in', file, '-noout', '-text', '-CAfile', ca.pemFile]);
    expect(r.out).toContain('No Revoked Certificates');
    expect(r.out).toContain('verify OK');
  });
});

describe('encodeRevoked', () => {
  it('GIVEN serials with the top bit set, odd hex length and unspecified reasons THEN each entry is minimal DER', () => {
    const t = 1_700_000_000;
    const { contents, entries } = encodeRevoked([
      ['80', t, 0],
      ['abc', t, 1],
    ]);
    expect(entries).toBe(2);
    // 30 13 | 02 02 00 80 | 17 0d <UTCTime> — no extensions for "unspecified"
    expect(contents.subarray(0, 6).toString('hex')).toBe('301302020080');
    const second = contents.subarray(21);
    // 30 21 | 02 02 0a bc | 17 0d ... | 30 0c 30 0a 06 03 55 1d 15 04 03 0a 01 01
    expect(second.subarray(0, 6).toString('hex')).toBe('302102020abc');
    expect(second.subarray(-14).toString('hex')).toBe('300c300a0603551d1504030a0101');
  });
});
