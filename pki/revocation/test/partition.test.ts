import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFabric } from '../../../fabric/index.js';
import { openDatabase, type Database } from '../../../lib/sql/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../../lib/test/postgres-server.js';
import { tempDir } from '../../../testkit/index.js';
import { crlUrlsFor, initHierarchy, Issuer, PKI_MIGRATIONS, PkiStore, toPem, type Issued } from '../../index.js';
import { stateBackends } from '../../test/helpers.js';
import { cutCrl } from '../index.js';
import { hasOpenssl, openssl } from './openssl.js';
import { openPki } from './test-pki.js';

const PASS = 'correct horse battery staple';
const BASE = 'http://pki.jinbao.internal';

let server: PostgresServer | undefined;
beforeAll(async () => {
  if (postgresMissing() === undefined) server = await startPostgres({ prefix: 'jinbao-crl-partition-pg-' });
}, 60_000);
afterAll(async () => {
  await server?.close();
});

/**
 * Partitioned CRLs on a real hierarchy, on SQLite and on PostgreSQL, with OpenSSL as the judge:
 * partitions of two certificates, five server certificates of the infrastructure CA (partitions
 * 0, 0, 1, 1, 2), then revocations, cuts and `openssl verify`.
 */
describe.each(stateBackends(() => server))('CRL partitions, the store on $name', ({ skip, fresh }) => {
  let dir: string;
  let cleanup: () => void;
  let state: Database;
  let pki: PkiStore;
  const certs: Issued[] = [];
  const file = (name: string) => join(dir, name);
  const pemOf = (name: string, der: Uint8Array) => (writeFileSync(file(name), toPem(der)), file(name));
  const crlPem = (name: string, pem: string) => (writeFileSync(file(name), pem), file(name));

  beforeAll(async () => {
    if (skip) return;
    ({ dir, cleanup } = tempDir('jinbao-crl-partition-'));
    ({ state, pki } = await openPki(dir, await fresh()));
    await initHierarchy(pki, { algorithm: 'ecdsa-p256', passphrase: PASS });
    await pki.setCrlSettings({ partitionSize: 2 });
    const issuer = new Issuer(pki, loadFabric(), PASS);
    for (let i = 0; i < 5; i++) {
      const host = `p${i}.440100.jinbao.internal`;
      certs.push(await issuer.issue({ profile: 'server-tls', site: '440100', generate: { subject: `CN=${host}` }, dns: [host] }));
    }
    for (const [i, c] of certs.entries()) pemOf(`c${i}.pem`, c.certificateDer);
    pemOf('infra.pem', certs[0]!.chainDer[0]!);
    pemOf('root.pem', certs[0]!.chainDer[certs[0]!.chainDer.length - 1]!);
  }, 120_000);
  afterAll(async () => {
    if (skip) return;
    await state.close();
    cleanup();
  });

  const cut = (partition: number | undefined, o: { delta?: boolean; now?: Date; expiredEntries?: 'drop' | 'keep' } = {}) =>
    cutCrl({ pki, caId: 'infrastructure', passphrase: PASS, distributionBase: BASE, ...(partition !== undefined ? { partition } : {}), ...o });
  const verify = (cert: string, crls: string[], extra: string[] = []) =>
    openssl(['verify', '-crl_check', ...extra, '-CAfile', file('root.pem'), '-untrusted', file('infra.pem'), ...crls.flatMap((c) => ['-CRLfile', c]), cert]);

  it.skipIf(skip)('GIVEN a partition size of 2 WHEN five certificates are issued THEN they fill partitions 0, 0, 1, 1, 2 and each names its partition in its CRL distribution point', async () => {
    expect(certs.map((c) => c.record.crlPartition)).toEqual([0, 0, 1, 1, 2]);
    expect((await pki.findCertificate(certs[3]!.record.serial))!.crlPartition).toBe(1);
    const text = openssl(['x509', '-in', file('c3.pem'), '-noout', '-ext', 'crlDistributionPoints']).out;
    expect(text).toContain(`URI:${BASE}/crl/infrastructure/1.crl`);
    expect(text).not.toContain(`URI:${BASE}/crl/infrastructure.crl`);
    expect(await pki.crlPartitions('infrastructure')).toEqual([
      { partition: 0, certificates: 2, revoked: 0 },
      { partition: 1, certificates: 2, revoked: 0 },
      { partition: 2, certificates: 1, revoked: 0 },
    ]);
  });

  it.skipIf(skip || !hasOpenssl)('GIVEN a revoked certificate in partition 1 WHEN partition 1 is cut THEN the CRL has a critical IssuingDistributionPoint equal to the CDP, and openssl verify refuses the revoked one, accepts its neighbour, and does not accept a partition-2 certificate on it', async () => {
    await pki.markRevoked(certs[2]!.record.serial, 'keyCompromise');
    const p1 = await cut(1);
    expect(p1.entries).toBe(1);
    const f = crlPem('p1.crl.pem', p1.pem);
    const text = openssl(['crl', '-in', f, '-noout', '-text']);
    expect(text.status).toBe(0);
    expect(text.out).toContain('X509v3 Issuing Distribution Point: critical');
    expect(text.out).toContain(`URI:${crlUrlsFor(BASE, 'infrastructure', 1).full}`);
    expect(text.out).toContain('Only User Certificates');
    expect(text.out).toContain(`URI:${BASE}/crl/infrastructure/1-delta.crl`);
    expect(text.out).toContain(`Serial Number: ${certs[2]!.record.serial.toUpperCase()}`);

    expect(verify(file('c3.pem'), [f])).toMatchObject({ status: 0 });
    const revoked = verify(file('c2.pem'), [f]);
    expect(revoked.status).not.toBe(0);
    expect(revoked.out).toContain('certificate revoked');
    // Partition 1's CRL does not cover a certificate of partition 2 (its CDP names another URL): OpenSSL says so.
    const other = verify(file('c4.pem'), [f]);
    expect(other.status).not.toBe(0);
    expect(other.out).toContain('error 44 at 0 depth lookup: different CRL scope');
    expect(other.out).not.toContain(': OK');
  });

  it.skipIf(skip || !hasOpenssl)('GIVEN the root CRL and a partition CRL WHEN the chain is checked with -crl_check_all THEN the good certificate passes and the revoked one fails', async () => {
    const root = await cutCrl({ pki, caId: 'root', passphrase: PASS, distributionBase: BASE });
    const rootFile = crlPem('root.crl.pem', root.pem);
    expect(openssl(['crl', '-in', rootFile, '-noout', '-text']).out).not.toContain('Issuing Distribution Point');
    const p1 = file('p1.crl.pem');
    expect(verify(file('c3.pem'), [rootFile, p1], ['-crl_check_all'])).toMatchObject({ status: 0 });
    expect(verify(file('c2.pem'), [rootFile, p1], ['-crl_check_all']).out).toContain('certificate revoked');
  });

  it.skipIf(skip || !hasOpenssl)('GIVEN a revocation after the full CRL of partition 1 WHEN its delta is cut THEN it carries the IssuingDistributionPoint and DeltaCRLIndicator, and -use_deltas refuses the certificate the full CRL alone accepts', async () => {
    await pki.markRevoked(certs[3]!.record.serial, 'superseded');
    const delta = await cut(1, { delta: true });
    expect(delta.entries).toBe(1);
    const d = crlPem('p1-delta.crl.pem', delta.pem);
    const text = openssl(['crl', '-in', d, '-noout', '-text']).out;
    expect(text).toContain('X509v3 Delta CRL Indicator: critical');
    expect(text).toContain('X509v3 Issuing Distribution Point: critical');
    expect(text).toContain(`URI:${BASE}/crl/infrastructure/1.crl`);
    const both = file('p1-both.pem');
    writeFileSync(both, readFileSync(file('p1.crl.pem'), 'utf8') + readFileSync(d, 'utf8'));
    expect(verify(file('c3.pem'), [file('p1.crl.pem')])).toMatchObject({ status: 0 });
    const withDelta = verify(file('c3.pem'), [both], ['-use_deltas']);
    expect(withDelta.status).not.toBe(0);
    expect(withDelta.out).toContain('certificate revoked');
    // The delta of partition 1 is over partition 1's full CRL, not over another partition's or the complete CRL's.
    await expect(cut(2, { delta: true })).rejects.toThrow('CA "infrastructure" partition 2 has no full CRL yet, so a delta CRL has no base; publish one first with: jinbao pki crl --ca infrastructure --partition 2');
  });

  it.skipIf(skip || !hasOpenssl)('GIVEN the complete CRL WHEN cut THEN it has no IssuingDistributionPoint and lists every revoked certificate of the CA, whatever its partition', async () => {
    const complete = await cut(undefined);
    expect(complete.entries).toBe(2);
    const text = openssl(['crl', '-in', crlPem('complete.crl.pem', complete.pem), '-noout', '-text']).out;
    expect(text).not.toContain('Issuing Distribution Point');
    expect(text).toContain(`URI:${BASE}/crl/infrastructure-delta.crl`);
  });

  it.skipIf(skip || !hasOpenssl)('GIVEN revoked certificates that expired WHEN a CRL is cut after their notAfter THEN drop leaves them out and keep lists them under ExpiredCertsOnCRL', async () => {
    const later = new Date(certs[2]!.record.notAfter.getTime() + 86_400_000);
    const dropped = await cut(1, { now: later, expiredEntries: 'drop' });
    expect(dropped.entries).toBe(0);
    const droppedText = openssl(['crl', '-in', crlPem('dropped.crl.pem', dropped.pem), '-noout', '-text']);
    expect(droppedText.status).toBe(0);
    expect(droppedText.out).toContain('No Revoked Certificates.');
    expect(droppedText.out).not.toContain('2.5.29.60');

    const kept = await cut(1, { now: later, expiredEntries: 'keep' });
    expect(kept.entries).toBe(2);
    const keptText = openssl(['crl', '-in', crlPem('kept.crl.pem', kept.pem), '-noout', '-text']);
    expect(keptText.status).toBe(0);
    expect(keptText.out).toContain(`Serial Number: ${certs[2]!.record.serial.toUpperCase()}`);
    // OpenSSL 3.0 has no name for ExpiredCertsOnCRL: it prints the OID and the GeneralizedTime (the CA's notBefore).
    expect(keptText.out).toMatch(/2\.5\.29\.60:\s*\n\s*\.\.\d{14}Z/);
    // Before the certificates expire, both settings list them.
    expect((await cut(1, { expiredEntries: 'drop' })).entries).toBe(2);
  });

  it.skipIf(skip)('GIVEN the store setting WHEN a CRL is cut without saying THEN the setting decides, and a bad partition size is refused naming the range', async () => {
    const later = new Date(certs[2]!.record.notAfter.getTime() + 86_400_000);
    await pki.setCrlSettings({ expiredEntries: 'keep' });
    expect((await cut(1, { now: later })).entries).toBe(2);
    await pki.setCrlSettings({ expiredEntries: 'drop' });
    expect((await cut(1, { now: later })).entries).toBe(0);
    await expect(pki.setCrlSettings({ partitionSize: 0 })).rejects.toThrow('--partition-size: got 0, want a whole number of certificates between 1 and 10000000 (default 100000)');
    expect(await pki.crlSettings()).toEqual({ partitionSize: 2, expiredEntries: 'drop' });
  });

  it.skipIf(skip)('GIVEN two issuers allocating at once WHEN 40 places are taken THEN no partition is handed more places than the partition size', async () => {
    await pki.setCrlSettings({ partitionSize: 3 });
    const other = await PkiStore.open(state, dir);
    const blocks = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? pki : other).allocateCrlPartition('ministry-staff', 1 + (i % 4))));
    const perPartition = new Map<number, number>();
    for (const b of blocks) perPartition.set(b.partition, (perPartition.get(b.partition) ?? 0) + b.count);
    expect(Math.max(...perPartition.values())).toBeLessThanOrEqual(3);
    expect([...perPartition.values()].reduce((a, b) => a + b, 0)).toBe(blocks.reduce((a, b) => a + b.count, 0));
    await pki.setCrlSettings({ partitionSize: 2 });
  });

  it.skipIf(skip)('GIVEN the root WHEN a partition of it is asked for THEN the cut is refused: the root has one CRL', async () => {
    await expect(cutCrl({ pki, caId: 'root', passphrase: PASS, distributionBase: BASE, partition: 0 })).rejects.toThrow('--partition: got 0 for CA "root", which has no partitions');
  });

  it.skipIf(skip)('GIVEN a store from before partitions with an issued certificate WHEN it is upgraded THEN that certificate stays unpartitioned: on the complete CRL, on no partition', async () => {
    const { dir: oldDir, cleanup: oldCleanup } = tempDir('jinbao-crl-partition-old-');
    const old = await openDatabase((await fresh()) ?? oldDir);
    try {
      await old.migrate('pki', PKI_MIGRATIONS.slice(0, -1));
      const t0 = '2026-01-01T00:00:00.000Z';
      await old.run(
        `INSERT INTO pki_cas (id, parent_id, role, purpose, site, algorithm, subject, serial, not_before, not_after, der, key_backend, key_ref, created_at)
         VALUES ('root', NULL, 'root', 'root', NULL, 'ecdsa-p256', 'CN=root', '01', $1, '2036-01-01T00:00:00.000Z', $2, 'software', 'root', $1),
                ('infrastructure', 'root', 'issuing', 'infrastructure', NULL, 'ecdsa-p256', 'CN=infra', '02', $1, '2036-01-01T00:00:00.000Z', $2, 'software', 'infrastructure', $1)`,
        [t0, Buffer.from([0])],
      );
      await old.run(
        `INSERT INTO pki_certificates (serial, ca_id, profile, profile_version, site, subject, common_name, staff_number, application, sans, key_type, not_before, not_after, der, issued_at)
         VALUES ('4a01', 'infrastructure', 'server-tls', 1, '440100', 'CN=old', 'old', NULL, NULL, '[]', 'ecdsa-p256', $1, '2036-01-01T00:00:00.000Z', $2, $1)`,
        [t0, Buffer.from([0])],
      );
      const store = await PkiStore.open(old, oldDir);
      expect((await store.findCertificate('4a01'))!.crlPartition).toBeNull();
      expect(await store.crlPartitions('infrastructure')).toEqual([{ partition: null, certificates: 1, revoked: 0 }]);
      await store.markRevoked('4a01', 'keyCompromise');
      const serials = async (opts: { partition?: number }) => {
        const out: string[] = [];
        for await (const e of store.revokedEntries('infrastructure', opts)) out.push(e.serial);
        return out;
      };
      expect(await serials({})).toEqual(['4a01']);
      expect(await serials({ partition: 0 })).toEqual([]);
    } finally {
      await old.close();
      oldCleanup();
    }
  });
});
