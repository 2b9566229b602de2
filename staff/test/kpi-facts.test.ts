import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../lib/sql/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../lib/test/postgres-server.js';
import { PkiStore, rosterCertificateHolders, staffCertificateHolders } from '../../pki/index.js';
import { stateBackends } from '../../pki/test/helpers.js';
import { ACTIVE_ON_ROSTER, staffLiveFacts, StaffStore, type RosterEntry } from '../index.js';

/**
 * The staff KPI reads certificates in two places: per site whatever the roster says (pki,
 * `staffCertificateHolders`) and per person on a roster (staff, `staffLiveFacts` through pki's
 * `rosterCertificateHolders`). Both must call the same certificates valid: every case of the
 * definition is tried here, on both backends, and the two counts compared.
 */

const NOW = new Date('2026-06-01T00:00:00.000Z');
const T0 = '2026-01-01T00:00:00.000Z';
let server: PostgresServer | undefined;
beforeAll(async () => {
  if (postgresMissing() === undefined) server = await startPostgres({ prefix: 'jinbao-staff-kpi-pg-' });
}, 60_000);
afterAll(async () => {
  await server?.close();
});

describe.each(stateBackends(() => server))('the staff KPI\'s two readers of certificates on $name', ({ skip, fresh }) => {
  const dirs: string[] = [];
  const open: Database[] = [];
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function store(): Promise<{ db: Database; dir: string; pki: PkiStore }> {
    const dir = mkdtempSync(join(tmpdir(), 'jinbao-staff-kpi-'));
    dirs.push(dir);
    const db = await openDatabase((await fresh()) ?? dir);
    open.push(db);
    const pki = await PkiStore.open(db, dir);
    await StaffStore.open(db);
    return { db, dir, pki };
  }

  async function ca(db: Database, id: string, status: 'active' | 'retiring' | 'revoked', parent: string | null = 'root'): Promise<void> {
    await db.run(
      `INSERT INTO pki_cas (id, parent_id, role, purpose, site, algorithm, subject, serial, not_before, not_after, der, key_backend, key_ref, created_at)
       VALUES ($1, $2, $3, $4, NULL, 'ecdsa-p256', $5, $6, $7, '2036-01-01T00:00:00.000Z', $8, 'software', $1, $7)`,
      [id, parent, parent ? 'issuing' : 'root', parent ? 'staff' : 'root', `CN=${id}`, `${id}-serial`, T0, Buffer.from([0])],
    );
    if (status !== 'active') await db.run('UPDATE pki_cas SET status = $1 WHERE id = $2', [status, id]);
  }

  let serial = 0;
  async function cert(db: Database, o: { site?: string; staffNumber: string | null; ca?: string; profile?: string; notBefore?: string; notAfter?: string; revoked?: boolean }): Promise<void> {
    serial += 1;
    await db.run(
      `INSERT INTO pki_certificates (serial, ca_id, profile, profile_version, site, subject, common_name, staff_number, application, sans, key_type, not_before, not_after, der, issued_at, status)
       VALUES ($1, $2, $3, 1, $4, 'CN=x', 'x', $5, NULL, '[]', 'EC P-256', $6, $7, $8, $9, $10)`,
      [serial.toString(16).padStart(4, '0'), o.ca ?? 'staff-a', o.profile ?? 'staff-auth', o.site ?? '440100', o.staffNumber, o.notBefore ?? T0, o.notAfter ?? '2027-01-01T00:00:00.000Z', Buffer.from([0]), T0, o.revoked ? 'revoked' : 'active'],
    );
  }

  const person = (staffNumber: string, status: 'active' | 'left' = 'active'): RosterEntry => ({
    site: '440100',
    staffNumber,
    name: staffNumber,
    identityHash: '',
    identityMasked: '',
    insuranceHash: '',
    insuranceMasked: '',
    department: '',
    email: '',
    status,
    previousNumber: null,
  });

  it.skipIf(skip)('GIVEN certificates in every state the definition names WHEN both count THEN they agree on who holds a valid staff certificate', async () => {
    const { db, dir, pki } = await store();
    await ca(db, 'root', 'active', null);
    await ca(db, 'staff-a', 'active');
    await ca(db, 'staff-r', 'retiring');
    await ca(db, 'staff-x', 'revoked');
    // counted: an active CA's, a retiring CA's (rolled over), and one person holding two counts once
    await cert(db, { staffNumber: 'P-0001' });
    await cert(db, { staffNumber: 'P-0001', profile: 'staff-sign' });
    await cert(db, { staffNumber: 'P-0002', ca: 'staff-r' });
    await cert(db, { staffNumber: 'P-0008', profile: 'staff-sign' });
    // not counted: revoked CA, revoked certificate, expired, not yet valid, not a staff profile, no staff number
    await cert(db, { staffNumber: 'P-0003', ca: 'staff-x' });
    await cert(db, { staffNumber: 'P-0004', revoked: true });
    await cert(db, { staffNumber: 'P-0005', notAfter: '2026-05-31T23:59:59.000Z' });
    await cert(db, { staffNumber: 'P-0006', notBefore: '2026-06-01T00:00:01.000Z' });
    await cert(db, { staffNumber: 'P-0007', profile: 'server-tls' });
    await cert(db, { staffNumber: null });
    // the same staff number at another site holds for that site only
    await cert(db, { staffNumber: 'P-0009', site: '440300' });

    const everyone = ['P-0001', 'P-0002', 'P-0003', 'P-0004', 'P-0005', 'P-0006', 'P-0007', 'P-0008', 'P-0009'].map((n) => person(n));
    await (await StaffStore.open(db)).replaceRosters([], { upsert: everyone, remove: [] }, { source: 'test' });

    const bySite = await staffCertificateHolders(pki, NOW);
    const state = { stateDir: dir, hasStore: () => true, database: async () => db };
    const rosters = (await staffLiveFacts(state, NOW)).staffRosters!;
    expect(bySite).toEqual(new Map([['440100', 3], ['440300', 1]]));
    expect(rosters).toEqual(new Map([['440100', { people: 9, holders: 3 }]]));
    expect(rosters.get('440100')!.holders).toBe(bySite.get('440100'));
    expect(await rosterCertificateHolders(db, ACTIVE_ON_ROSTER, NOW)).toEqual(rosters);

    // WHEN a holder leaves the roster THEN the roster side stops counting them; the certificate side still does (until sync revokes)
    await (await StaffStore.open(db)).replaceRosters([], { upsert: [person('P-0002', 'left')], remove: [] }, { source: 'test' });
    expect((await staffLiveFacts(state, NOW)).staffRosters).toEqual(new Map([['440100', { people: 8, holders: 2 }]]));
    expect((await staffCertificateHolders(pki, NOW)).get('440100')).toBe(3);

    // WHEN the retiring CA is revoked THEN neither counts its certificates
    await db.run("UPDATE pki_cas SET status = 'revoked' WHERE id = 'staff-r'");
    await (await StaffStore.open(db)).replaceRosters([], { upsert: [person('P-0002')], remove: [] }, { source: 'test' });
    expect((await staffLiveFacts(state, NOW)).staffRosters).toEqual(new Map([['440100', { people: 9, holders: 2 }]]));
    expect((await staffCertificateHolders(pki, NOW)).get('440100')).toBe(2);
  });
});
