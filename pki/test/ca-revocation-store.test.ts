import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrateAudit } from '../../lib/audit.js';
import { openDatabase, type Database } from '../../lib/sql/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../lib/test/postgres-server.js';
import { PKI_MIGRATIONS, PkiStore } from '../store.js';
import { mlps3Applications, staffCertificateHolders } from '../facts.js';
import { AcmeStore } from '../acme/store.js';
import { lastAudit, smallFabric, stateBackends } from './helpers.js';

/**
 * CA revocation in the certificate store, without crypto, on SQLite and on PostgreSQL: CA and
 * certificate rows are written by hand (the DER is never parsed here), so a store can be built
 * exactly as the previous schema left it.
 */

const T0 = '2026-01-01T00:00:00.000Z';
let server: PostgresServer | undefined;
beforeAll(async () => {
  if (postgresMissing() === undefined) server = await startPostgres({ prefix: 'jinbao-pki-store-pg-' });
}, 60_000);
afterAll(async () => {
  await server?.close();
});

describe.each(stateBackends(() => server))('the certificate store on $name', ({ skip, fresh }) => {
  const dirs: string[] = [];
  const open: Database[] = [];
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** A state store whose pki component is at `version` (1: before CA revocations had a sequence). */
  async function storeAt(version: number): Promise<{ db: Database; dir: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'jinbao-ca-revocation-'));
    dirs.push(dir);
    const db = await openDatabase((await fresh()) ?? dir);
    open.push(db);
    await db.migrate('pki', PKI_MIGRATIONS.slice(0, version));
    await migrateAudit(db);
    return { db, dir };
  }

  async function insertCa(db: Database, id: string, parent: string | null, serial: string): Promise<void> {
    await db.run(
      `INSERT INTO pki_cas (id, parent_id, role, purpose, site, algorithm, subject, serial, not_before, not_after, der, key_backend, key_ref, created_at)
       VALUES ($1, $2, $3, $4, NULL, 'ecdsa-p256', $5, $6, $7, '2036-01-01T00:00:00.000Z', $8, 'software', $9, $10)`,
      [id, parent, parent ? 'issuing' : 'root', parent ? 'staff' : 'root', `CN=${id}`, serial, T0, Buffer.from([0]), id, T0],
    );
  }

  async function insertCertificate(db: Database, caId: string, serial: string, o: { profile?: string; site?: string; staffNumber?: string; application?: string } = {}): Promise<void> {
    await db.run(
      `INSERT INTO pki_certificates (serial, ca_id, profile, profile_version, site, subject, common_name, staff_number, application, sans, key_type, not_before, not_after, der, issued_at)
       VALUES ($1, $2, $3, 1, $4, 'CN=x', 'x', $5, $6, '[]', 'ecdsa-p256', $7, '2036-01-01T00:00:00.000Z', $8, $9)`,
      [serial, caId, o.profile ?? 'ocsp-signing', o.site ?? '000000', o.staffNumber ?? null, o.application ?? null, T0, Buffer.from([0]), T0],
    );
  }

  /** root ← province-440000-staff, province-110000-staff; one certificate under root. */
  async function hierarchy(db: Database): Promise<void> {
    await insertCa(db, 'root', null, '4000000000000000000000000000000a');
    await insertCa(db, 'province-440000-staff', 'root', '5000000000000000000000000000000b');
    await insertCa(db, 'province-110000-staff', 'root', '4800000000000000000000000000000c');
  }

  const all = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
    const out: T[] = [];
    for await (const x of it) out.push(x);
    return out;
  };

  describe('the pki schema upgrade that puts CA revocations in the revocation sequence', () => {
    it.skipIf(skip)('GIVEN a store of the previous schema with a CA revoked under it and a revoked certificate WHEN it is opened THEN it upgrades through version 2 to the latest and the CA takes the next place in the sequence', async () => {
      const { db, dir } = await storeAt(1);
      await hierarchy(db);
      await insertCertificate(db, 'root', '4400000000000000000000000000000d');
      await db.run("UPDATE pki_certificates SET status = 'revoked', revoked_at = $1, revocation_reason = 'superseded', revocation_seq = 1", [T0]);
      await db.run("UPDATE pki_sequence SET value = 1 WHERE name = 'revocation'");
      // What markCaRevoked did before: status, time and reason, no place in the sequence.
      await db.run("UPDATE pki_cas SET status = 'revoked', revoked_at = $1, revocation_reason = 'cACompromise' WHERE id = 'province-440000-staff'", ['2026-02-01T00:00:00.000Z']);
      expect((await db.versions()).pki).toBe(1);

      const pki = await PkiStore.open(db, dir);

      expect((await db.versions()).pki).toBe(PKI_MIGRATIONS.length);
      expect(await pki.getCa('province-440000-staff')).toMatchObject({ status: 'revoked', revocationReason: 'cACompromise', revocationSeq: 2 });
      expect(await pki.getCa('province-110000-staff')).toMatchObject({ status: 'active', revocationSeq: null });
      expect(await pki.revocationSeq()).toBe(2);
      expect((await all(pki.revokedEntries('root'))).map((e) => [e.serial, e.reason, e.revocationSeq])).toEqual([
        ['4400000000000000000000000000000d', 'superseded', 1],
        ['5000000000000000000000000000000b', 'cACompromise', 2],
      ]);
      expect((await all(pki.revokedEntries('root', { afterSeq: 1 }))).map((e) => e.serial)).toEqual(['5000000000000000000000000000000b']);
      // A revocation after the upgrade continues the sequence.
      expect((await pki.markCaRevoked('province-110000-staff', 'keyCompromise')).revocationSeq).toBe(3);
    });

    it.skipIf(skip)('GIVEN an empty store of the previous schema WHEN it is opened twice THEN it upgrades once and stays at the latest version', async () => {
      const { db, dir } = await storeAt(1);
      await PkiStore.open(db, dir);
      await PkiStore.open(db, dir);
      expect((await db.versions()).pki).toBe(PKI_MIGRATIONS.length);
      await insertCa(db, 'root', null, '4000000000000000000000000000000a');
      expect(await db.query("SELECT revocation_seq, replaces FROM pki_cas WHERE id = 'root'")).toEqual([{ revocation_seq: null, replaces: null }]);
    });
  });

  describe('PkiStore.markCaRevoked', () => {
    async function freshPki(): Promise<{ db: Database; pki: PkiStore }> {
      const { db, dir } = await storeAt(PKI_MIGRATIONS.length);
      await hierarchy(db);
      return { db, pki: await PkiStore.open(db, dir) };
    }

    it.skipIf(skip)('GIVEN revoked CAs and certificates of one parent THEN revokedEntries lists them together in serial order, each once', async () => {
      const { db, pki } = await freshPki();
      for (const s of ['4400000000000000000000000000000d', '0102', '6000000000000000000000000000000e']) await insertCertificate(db, 'root', s);
      await pki.markRevoked('6000000000000000000000000000000e', 'keyCompromise');
      await pki.markCaRevoked('province-440000-staff', 'cACompromise', { at: new Date('2026-03-01T00:00:00Z') });
      await pki.markRevoked('0102', 'superseded');
      await pki.markCaRevoked('province-110000-staff', 'cessationOfOperation');
      await pki.markRevoked('4400000000000000000000000000000d', 'superseded');
      const entries = await all(pki.revokedEntries('root'));
      expect(entries.map((e) => e.serial)).toEqual(['0102', '4400000000000000000000000000000d', '4800000000000000000000000000000c', '5000000000000000000000000000000b', '6000000000000000000000000000000e']);
      expect(entries[3]).toEqual({ serial: '5000000000000000000000000000000b', revokedAt: new Date('2026-03-01T00:00:00Z'), reason: 'cACompromise', revocationSeq: 2 });
      expect((await all(pki.revokedEntries('root', { afterSeq: 3 }))).map((e) => e.serial)).toEqual(['4400000000000000000000000000000d', '4800000000000000000000000000000c']);
      expect(await all(pki.revokedEntries('province-440000-staff'))).toEqual([]);
    });

    it.skipIf(skip)('GIVEN a CA revocation THEN it is audited with its serial, parent and place in the sequence, and the chain below reports it', async () => {
      const { db, pki } = await freshPki();
      const ca = await pki.markCaRevoked('province-440000-staff', 'cACompromise', { actor: 'officer' });
      expect(ca).toMatchObject({ status: 'revoked', revocationReason: 'cACompromise', revocationSeq: 1 });
      expect(await lastAudit(db)).toMatchObject({ action: 'pki.ca.revoke', outcome: 'ok' });
      expect(JSON.parse((await lastAudit(db)).details)).toMatchObject({ reason: 'cACompromise', serial: '5000000000000000000000000000000b', parentId: 'root', revocationSeq: 1 });
      expect((await pki.revokedCaInChain('province-440000-staff'))?.id).toBe('province-440000-staff');
      expect(await pki.revokedCaInChain('province-110000-staff')).toBeUndefined();
      expect((await pki.findCaBySerial('50:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0B'))?.id).toBe('province-440000-staff');
    });

    it.skipIf(skip)('GIVEN the root THEN it is refused, says what to do instead, changes nothing and is audited', async () => {
      const { db, pki } = await freshPki();
      await expect(pki.markCaRevoked('root', 'cACompromise')).rejects.toThrow(
        'CA root: got the root CA, want an issuing CA; nothing above the root can publish its revocation. If the root key is compromised, create a new hierarchy in a new state directory (jinbao --state <new dir> pki init), re-issue every certificate under it and remove this root (serial 4000000000000000000000000000000a) from every trust store',
      );
      expect((await pki.getCa('root'))?.status).toBe('active');
      expect(await pki.revocationSeq()).toBe(0);
      expect(await lastAudit(db)).toMatchObject({ action: 'pki.ca.revoke', outcome: 'refused' });
    });

    it.skipIf(skip)('GIVEN an unknown id THEN it is refused with the ids there are, and audited', async () => {
      const { db, pki } = await freshPki();
      await expect(pki.markCaRevoked('province-999999-staff', 'cACompromise')).rejects.toThrow('unknown CA: got "province-999999-staff", want one of root, province-110000-staff, province-440000-staff');
      expect(await lastAudit(db)).toMatchObject({ action: 'pki.ca.revoke', outcome: 'refused' });
    });

    it.skipIf(skip)('GIVEN a CA revoked already THEN a second revocation is refused with when and why, the sequence does not move, and it is audited', async () => {
      const { db, pki } = await freshPki();
      await pki.markCaRevoked('province-440000-staff', 'cACompromise', { at: new Date('2026-03-01T00:00:00Z') });
      await expect(pki.markCaRevoked('province-440000-staff', 'superseded')).rejects.toThrow('CA province-440000-staff is already revoked (since 2026-03-01T00:00:00.000Z, reason cACompromise); nothing changed');
      expect(await pki.revocationSeq()).toBe(1);
      expect(await lastAudit(db)).toMatchObject({ action: 'pki.ca.revoke', outcome: 'refused' });
    });
  });

  describe('certificates, serials and the group commit', () => {
    const cert = (serial: string) => ({
      serial,
      caId: 'root',
      profile: 'server-tls',
      profileVersion: 1,
      site: '440100',
      subject: 'CN=x',
      commonName: 'x',
      staffNumber: null,
      application: null,
      sans: ['DNS:x'],
      keyType: 'EC P-256',
      notBefore: new Date(T0),
      notAfter: new Date('2027-01-01T00:00:00.000Z'),
      der: new Uint8Array([1, 2, 3]),
      issuedAt: new Date(T0),
    });
    const entry = (serial: string) => ({ certificate: cert(serial), audit: { action: 'pki.issue', outcome: 'ok' as const, subject: serial } });

    it.skipIf(skip)('GIVEN many concurrent recordings WHEN they are committed THEN each certificate is recorded once with its own chained audit entry, and an existing serial records nothing', async () => {
      const { db, dir } = await storeAt(PKI_MIGRATIONS.length);
      await hierarchy(db);
      const pki = await PkiStore.open(db, dir);
      const serials = Array.from({ length: 300 }, (_, i) => (0x1000 + i).toString(16));
      const results = await Promise.all(serials.map((s) => pki.recordIssued([entry(s)])));
      expect(results.every((r) => r.size === 0)).toBe(true);
      expect(await pki.recordIssued([entry('1000'), entry('abcd')])).toEqual(new Map([['1000', 'serial-taken']]));
      expect((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM pki_certificates'))[0]!.n).toBe(301);
      const audited = await db.query<{ subject: string }>("SELECT subject FROM audit_log WHERE action = 'pki.issue' ORDER BY seq");
      expect(audited.map((r) => r.subject).sort()).toEqual([...serials, 'abcd'].sort());
      expect(await pki.findCertificate('abcd')).toMatchObject({ serial: 'abcd', sans: ['DNS:x'], der: new Uint8Array([1, 2, 3]), status: 'active', revocationSeq: null });
      expect(await pki.countByProfile()).toEqual([{ profile: 'server-tls', n: 301 }]);
    });

    it.skipIf(skip)('GIVEN an issuing CA revoked before the commit THEN its certificates are not recorded and say why, and the others are', async () => {
      const { db, dir } = await storeAt(PKI_MIGRATIONS.length);
      await hierarchy(db);
      const pki = await PkiStore.open(db, dir);
      await pki.markCaRevoked('province-440000-staff', 'cACompromise');
      const under = (serial: string, caId: string) => ({ ...entry(serial), certificate: { ...cert(serial), caId } });
      expect(await pki.recordIssued([under('aa01', 'province-440000-staff'), under('aa02', 'province-110000-staff')])).toEqual(new Map([['aa01', 'ca-revoked']]));
      expect(await pki.findCertificate('aa01')).toBeUndefined();
      expect((await pki.findCertificate('aa02'))?.caId).toBe('province-110000-staff');
      expect(await lastAudit(db)).toMatchObject({ action: 'pki.issue', outcome: 'ok' });
    });

    it.skipIf(skip)('GIVEN a key stored once THEN a second key under the same reference is refused and the first stays', async () => {
      const { db, dir } = await storeAt(PKI_MIGRATIONS.length);
      const pki = await PkiStore.open(db, dir);
      expect(await pki.insertKey('root.key.pem', 'first')).toBe(true);
      expect(await pki.insertKey('root.key.pem', 'second')).toBe(false);
      await pki.replaceKey('root.key.pem', 'not what it holds', 'third');
      expect(await pki.keyPem('root.key.pem')).toBe('first');
      await pki.replaceKey('root.key.pem', 'first', 'fourth');
      expect(await pki.keyPem('root.key.pem')).toBe('fourth');
      expect(await pki.initSetting('demo-passphrase', 'a')).toBe('a');
      expect(await pki.initSetting('demo-passphrase', 'b')).toBe('a');
    });
  });

  describe('the PKI indicators once an issuing CA is revoked', () => {
    it.skipIf(skip)("GIVEN staff and server certificates under two CAs WHEN one CA is revoked THEN its certificates stop counting and the other CA's still count", async () => {
      const { db, dir } = await storeAt(PKI_MIGRATIONS.length);
      await hierarchy(db);
      await insertCa(db, 'infrastructure', 'root', '4900000000000000000000000000000f');
      await insertCertificate(db, 'province-440000-staff', '5100', { profile: 'staff-auth', site: '440100', staffNumber: 'S0001' });
      await insertCertificate(db, 'province-110000-staff', '5200', { profile: 'staff-auth', site: '110000', staffNumber: 'S0002' });
      const fabric = smallFabric();
      const domain = fabric.domains(fabric.site('440100'))[0]!;
      await insertCertificate(db, 'infrastructure', '5300', { profile: 'server-tls', site: '440100', application: domain });
      // issued through the certificate service (ACME), which is what the indicator counts
      await AcmeStore.open(db);
      await db.run("INSERT INTO acme_certificates (id, serial, account_id, order_id, chain_pem, not_before, not_after, created_at) VALUES ('c1', $1, 'a1', 'o1', '', $2, $3, $2)", ['5300', T0, '2036-01-01T00:00:00.000Z']);
      const pki = await PkiStore.open(db, dir);
      const at = new Date('2027-01-01T00:00:00Z');
      const covered = (await mlps3Applications(pki, fabric, at)).withCertificates;
      expect(await staffCertificateHolders(pki, at)).toEqual(new Map([['440100', 1], ['110000', 1]]));

      await pki.markCaRevoked('province-440000-staff', 'cACompromise');
      await pki.markCaRevoked('infrastructure', 'cACompromise');

      expect(await staffCertificateHolders(pki, at)).toEqual(new Map([['110000', 1]]));
      expect((await mlps3Applications(pki, fabric, at)).withCertificates).toBe(covered - 1);
    });
  });
});

describe('the certificate store on SQLite: looking a person up', () => {
  it('GIVEN the latest schema WHEN a person\'s active certificate is looked up by site and staff number THEN one index probe answers, not a scan of the site\'s certificates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jinbao-pki-staff-index-'));
    const db = await openDatabase(dir);
    try {
      await db.migrate('pki', PKI_MIGRATIONS);
      const plan = await db.query<{ detail: string }>(
        "EXPLAIN QUERY PLAN SELECT 1 FROM pki_certificates WHERE site = $1 AND staff_number = $2 AND status = 'active' AND profile IN ('staff-auth', 'staff-sign')",
        ['440100', 'GD-0001'],
      );
      // the covering index of active staff certificates answers without reading the row
      expect(plan.map((r) => r.detail).join('\n')).toContain('SEARCH pki_certificates USING COVERING INDEX pki_certificates_staff_valid (site=? AND staff_number=? AND profile=?)');
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
