import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateAudit } from '../../lib/audit.js';
import { StateStore } from '../../lib/state.js';
import { PKI_MIGRATIONS, PkiStore } from '../store.js';
import { mlps3Applications, staffCertificateHolders } from '../facts.js';
import { lastAudit, smallFabric } from './helpers.js';

/**
 * CA revocation in the certificate store, without crypto: CA and certificate rows are written by
 * hand (the DER is never parsed here), so a store can be built exactly as the previous schema left it.
 */

const T0 = '2026-01-01T00:00:00.000Z';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A state store whose pki component is at `version` (1: before CA revocations had a sequence). */
function storeAt(version: number): StateStore {
  const dir = mkdtempSync(join(tmpdir(), 'jinbao-ca-revocation-'));
  dirs.push(dir);
  const state = StateStore.open(dir);
  state.migrate('pki', PKI_MIGRATIONS.slice(0, version));
  migrateAudit(state);
  return state;
}

function insertCa(state: StateStore, id: string, parent: string | null, serial: string): void {
  state.db
    .prepare(
      `INSERT INTO pki_cas (id, parent_id, role, purpose, site, algorithm, subject, serial, not_before, not_after, der, key_backend, key_ref, created_at)
       VALUES (?, ?, ?, ?, NULL, 'ecdsa-p256', ?, ?, ?, '2036-01-01T00:00:00.000Z', x'00', 'software', ?, ?)`,
    )
    .run(id, parent, parent ? 'issuing' : 'root', parent ? 'staff' : 'root', `CN=${id}`, serial, T0, id, T0);
}

function insertCertificate(state: StateStore, caId: string, serial: string, o: { profile?: string; site?: string; staffNumber?: string; application?: string } = {}): void {
  state.db
    .prepare(
      `INSERT INTO pki_certificates (serial, ca_id, profile, profile_version, site, subject, common_name, staff_number, application, sans, key_type, not_before, not_after, der, issued_at)
       VALUES (?, ?, ?, 1, ?, 'CN=x', 'x', ?, ?, '[]', 'ecdsa-p256', ?, '2036-01-01T00:00:00.000Z', x'00', ?)`,
    )
    .run(serial, caId, o.profile ?? 'ocsp-signing', o.site ?? '000000', o.staffNumber ?? null, o.application ?? null, T0, T0);
}

/** root ← province-440000-staff, province-110000-staff; one certificate under root. */
function hierarchy(state: StateStore): void {
  insertCa(state, 'root', null, '4000000000000000000000000000000a');
  insertCa(state, 'province-440000-staff', 'root', '5000000000000000000000000000000b');
  insertCa(state, 'province-110000-staff', 'root', '4800000000000000000000000000000c');
}

describe('the pki schema upgrade that puts CA revocations in the revocation sequence', () => {
  it('GIVEN a store of the previous schema with a CA revoked under it and a revoked certificate WHEN it is opened THEN it upgrades through version 2 to the latest and the CA takes the next place in the sequence', () => {
    const state = storeAt(1);
    hierarchy(state);
    insertCertificate(state, 'root', '4400000000000000000000000000000d');
    state.db.prepare("UPDATE pki_certificates SET status = 'revoked', revoked_at = ?, revocation_reason = 'superseded', revocation_seq = 1").run(T0);
    state.db.prepare("UPDATE pki_sequence SET value = 1 WHERE name = 'revocation'").run();
    // What markCaRevoked did before: status, time and reason, no place in the sequence.
    state.db.prepare("UPDATE pki_cas SET status = 'revoked', revoked_at = ?, revocation_reason = 'cACompromise' WHERE id = 'province-440000-staff'").run('2026-02-01T00:00:00.000Z');
    expect(state.versions().pki).toBe(1);

    const pki = PkiStore.open(state);

    expect(state.versions().pki).toBe(PKI_MIGRATIONS.length);
    expect(pki.getCa('province-440000-staff')).toMatchObject({ status: 'revoked', revocationReason: 'cACompromise', revocationSeq: 2 });
    expect(pki.getCa('province-110000-staff')).toMatchObject({ status: 'active', revocationSeq: null });
    expect(pki.revocationSeq()).toBe(2);
    expect([...pki.revokedEntries('root')].map((e) => [e.serial, e.reason, e.revocationSeq])).toEqual([
      ['4400000000000000000000000000000d', 'superseded', 1],
      ['5000000000000000000000000000000b', 'cACompromise', 2],
    ]);
    expect([...pki.revokedEntries('root', { afterSeq: 1 })].map((e) => e.serial)).toEqual(['5000000000000000000000000000000b']);
    // A revocation after the upgrade continues the sequence.
    expect(pki.markCaRevoked('province-110000-staff', 'keyCompromise').revocationSeq).toBe(3);
    state.close();
  });

  it('GIVEN an empty store of the previous schema WHEN it is opened twice THEN it upgrades once and stays at the latest version', () => {
    const state = storeAt(1);
    PkiStore.open(state);
    PkiStore.open(state);
    expect(state.versions().pki).toBe(PKI_MIGRATIONS.length);
    expect(state.db.prepare("SELECT COUNT(*) FROM pragma_table_info('pki_cas') WHERE name = 'revocation_seq'").pluck().get()).toBe(1);
    state.close();
  });
});

describe('PkiStore.markCaRevoked', () => {
  function fresh(): { state: StateStore; pki: PkiStore } {
    const state = storeAt(PKI_MIGRATIONS.length);
    hierarchy(state);
    return { state, pki: PkiStore.open(state) };
  }

  it('GIVEN revoked CAs and certificates of one parent THEN revokedEntries lists them together in serial order, each once', () => {
    const { state, pki } = fresh();
    for (const s of ['4400000000000000000000000000000d', '0102', '6000000000000000000000000000000e']) insertCertificate(state, 'root', s);
    pki.markRevoked('6000000000000000000000000000000e', 'keyCompromise');
    pki.markCaRevoked('province-440000-staff', 'cACompromise', { at: new Date('2026-03-01T00:00:00Z') });
    pki.markRevoked('0102', 'superseded');
    pki.markCaRevoked('province-110000-staff', 'cessationOfOperation');
    pki.markRevoked('4400000000000000000000000000000d', 'superseded');
    const entries = [...pki.revokedEntries('root')];
    expect(entries.map((e) => e.serial)).toEqual(['0102', '4400000000000000000000000000000d', '4800000000000000000000000000000c', '5000000000000000000000000000000b', '6000000000000000000000000000000e']);
    expect(entries[3]).toEqual({ serial: '5000000000000000000000000000000b', revokedAt: new Date('2026-03-01T00:00:00Z'), reason: 'cACompromise', revocationSeq: 2 });
    expect([...pki.revokedEntries('root', { afterSeq: 3 })].map((e) => e.serial)).toEqual(['4400000000000000000000000000000d', '4800000000000000000000000000000c']);
    expect([...pki.revokedEntries('province-440000-staff')]).toEqual([]);
    state.close();
  });

  it('GIVEN a CA revocation THEN it is audited with its serial, parent and place in the sequence, and the chain below reports it', () => {
    const { state, pki } = fresh();
    const ca = pki.markCaRevoked('province-440000-staff', 'cACompromise', { actor: 'officer' });
    expect(ca).toMatchObject({ status: 'revoked', revocationReason: 'cACompromise', revocationSeq: 1 });
    expect(lastAudit(state)).toMatchObject({ action: 'pki.ca.revoke', outcome: 'ok' });
    expect(JSON.parse(lastAudit(state).details)).toMatchObject({ reason: 'cACompromise', serial: '5000000000000000000000000000000b', parentId: 'root', revocationSeq: 1 });
    expect(pki.revokedCaInChain('province-440000-staff')?.id).toBe('province-440000-staff');
    expect(pki.revokedCaInChain('province-110000-staff')).toBeUndefined();
    expect(pki.findCaBySerial('50:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0B')?.id).toBe('province-440000-staff');
    state.close();
  });

  it('GIVEN the root THEN it is refused, says what to do instead, changes nothing and is audited', () => {
    const { state, pki } = fresh();
    expect(() => pki.markCaRevoked('root', 'cACompromise')).toThrow(
      'CA root: got the root CA, want an issuing CA; nothing above the root can publish its revocation. If the root key is compromised, create a new hierarchy in a new state directory (jinbao --state <new dir> pki init), re-issue every certificate under it and remove this root (serial 4000000000000000000000000000000a) from every trust store',
    );
    expect(pki.getCa('root')?.status).toBe('active');
    expect(pki.revocationSeq()).toBe(0);
    expect(lastAudit(state)).toMatchObject({ action: 'pki.ca.revoke', outcome: 'refused' });
    state.close();
  });

  it('GIVEN an unknown id THEN it is refused with the ids there are, and audited', () => {
    const { state, pki } = fresh();
    expect(() => pki.markCaRevoked('province-999999-staff', 'cACompromise')).toThrow('unknown CA: got "province-999999-staff", want one of root, province-110000-staff, province-440000-staff');
    expect(lastAudit(state)).toMatchObject({ action: 'pki.ca.revoke', outcome: 'refused' });
    state.close();
  });

  it('GIVEN a CA revoked already THEN a second revocation is refused with when and why, the sequence does not move, and it is audited', () => {
    const { state, pki } = fresh();
    pki.markCaRevoked('province-440000-staff', 'cACompromise', { at: new Date('2026-03-01T00:00:00Z') });
    expect(() => pki.markCaRevoked('province-440000-staff', 'superseded')).toThrow('CA province-440000-staff is already revoked (since 2026-03-01T00:00:00.000Z, reason cACompromise); nothing changed');
    expect(pki.revocationSeq()).toBe(1);
    expect(lastAudit(state)).toMatchObject({ action: 'pki.ca.revoke', outcome: 'refused' });
    state.close();
  });
});

describe('the PKI indicators once an issuing CA is revoked', () => {
  it("GIVEN staff and server certificates under two CAs WHEN one CA is revoked THEN its certificates stop counting and the other CA's still count", () => {
    const state = storeAt(PKI_MIGRATIONS.length);
    hierarchy(state);
    insertCa(state, 'infrastructure', 'root', '4900000000000000000000000000000f');
    insertCertificate(state, 'province-440000-staff', '5100', { profile: 'staff-auth', site: '440100', staffNumber: 'S0001' });
    insertCertificate(state, 'province-110000-staff', '5200', { profile: 'staff-auth', site: '110000', staffNumber: 'S0002' });
    const fabric = smallFabric();
    const domain = fabric.domains(fabric.site('440100'))[0]!;
    insertCertificate(state, 'infrastructure', '5300', { profile: 'server-tls', site: '440100', application: domain });
    const pki = PkiStore.open(state);
    const at = new Date('2027-01-01T00:00:00Z');
    const covered = mlps3Applications(pki, fabric, at).withCertificates;
    expect(staffCertificateHolders(pki, at)).toEqual(new Map([['440100', 1], ['110000', 1]]));

    pki.markCaRevoked('province-440000-staff', 'cACompromise');
    pki.markCaRevoked('infrastructure', 'cACompromise');

    expect(staffCertificateHolders(pki, at)).toEqual(new Map([['110000', 1]]));
    expect(mlps3Applications(pki, fabric, at).withCertificates).toBe(covered - 1);
    state.close();
  });
});
