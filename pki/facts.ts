import type { Fabric } from '../fabric/index.js';
import { demoPassphrase } from './passphrase.js';
import { PROFILES } from './profiles.js';
import type { Queryable } from '../lib/sql/index.js';
import type { CertificateRecord, PkiStore } from './store.js';

/**
 * What the PKI contributes to the plan's indicators, computed from the certificate store.
 *
 * Staff: a staff member holds a certificate when at least one staff profile certificate with their
 * staff number (subject serialNumber) is active (not revoked) and within its validity now; a
 * person with both an authentication and a signing certificate counts once; certificates of a
 * revoked CA do not count (those of a retiring CA do). The KPI caps each
 * site at its staff total.
 *
 * MLPS level-3 applications: the inventory implies one application per business domain a site
 * hosts (fabric placement policy) at every site whose MLPS level is 3 or more. An application
 * counts as using certificates when an active, currently valid server-tls certificate naming that
 * site and that domain came from the certificate service: ACME issued it (it has a row in
 * acme_certificates; cert-manager's Certificate of the site's stack, or any ACME client of the
 * site). A certificate typed in by hand (`jinbao pki issue --application DOMAIN`) does not count:
 * nothing renews it, and the plan's goal is applications that keep their certificates themselves.
 * Those applications are listed in `handIssued`, so the gap is visible.
 */

/**
 * A certificate covers nothing once its issuing CA is revoked, whatever its own status says; one
 * from a CA rolled over (retiring) stays valid until it expires. The root cannot be revoked and
 * issuing CAs sign no CAs, so the issuing CA is the whole chain to check.
 */
const ISSUER_ACTIVE = "ca_id IN (SELECT id FROM pki_cas WHERE status <> 'revoked')";

const STAFF_PROFILES = Object.values(PROFILES)
  .filter((p) => p.staff)
  .map((p) => p.name);

/**
 * The one definition of a valid staff certificate, as SQL over `pki_certificates` (alias `c`):
 * a staff profile, active (not revoked), within its validity at the instant bound as `$<at>`,
 * with a staff number, issued by a CA that is not revoked (active, retiring or retired). Its
 * parameters are the staff profiles, numbered from `$<first>`; the caller binds the instant.
 */
function validStaffCertificate(first: number, at: string): { sql: string; params: string[] } {
  const profiles = STAFF_PROFILES.map((_, i) => `$${first + i}`).join(', ');
  return {
    sql: `c.status = 'active' AND c.staff_number IS NOT NULL AND c.profile IN (${profiles})
          AND c.not_before <= ${at} AND c.not_after > ${at} AND c.${ISSUER_ACTIVE}`,
    params: [...STAFF_PROFILES],
  };
}

/**
 * Staff certificate holders per site: the distinct staff numbers holding at least one valid staff
 * certificate (see `validStaffCertificate`), whatever any roster says. Read from the covering
 * index `pki_certificates_staff_valid` alone (a scan of it in site and staff-number order).
 */
export async function staffCertificateHolders(pki: PkiStore, now = new Date()): Promise<Map<string, number>> {
  const valid = validStaffCertificate(2, '$1');
  const rows = await pki.db.query<{ site: string; n: number }>(`SELECT c.site AS site, COUNT(DISTINCT c.staff_number) AS n FROM pki_certificates c WHERE ${valid.sql} GROUP BY c.site`, [now.toISOString(), ...valid.params]);
  return new Map(rows.map((r) => [r.site, Number(r.n)]));
}

/**
 * Where the people of a roster are: a table with a site and a staff-number column, and the
 * condition (on that table, alias `m`) of the rows that count as people (those active on it).
 * Given by the feature that keeps the rosters; the certificate side stays here.
 */
export interface RosterJoin {
  readonly table: string;
  readonly site: string;
  readonly staffNumber: string;
  readonly where: string;
}

/**
 * Per site with people on the roster: how many, and how many of them hold a valid staff
 * certificate with their staff number at that site (the same definition as
 * `staffCertificateHolders`). One probe per person into the covering index `pki_certificates_staff_valid`.
 */
export async function rosterCertificateHolders(q: Queryable, roster: RosterJoin, now = new Date()): Promise<Map<string, { people: number; holders: number }>> {
  const valid = validStaffCertificate(2, '$1');
  const rows = await q.query<{ site: string; people: number; holders: number }>(
    `SELECT m.${roster.site} AS site, COUNT(*) AS people,
            SUM(CASE WHEN EXISTS (
              SELECT 1 FROM pki_certificates c WHERE c.site = m.${roster.site} AND c.staff_number = m.${roster.staffNumber} AND ${valid.sql}
            ) THEN 1 ELSE 0 END) AS holders
     FROM ${roster.table} m WHERE ${roster.where} GROUP BY m.${roster.site}`,
    [now.toISOString(), ...valid.params],
  );
  return new Map(rows.map((r) => [r.site, { people: Number(r.people), holders: Number(r.holders) }]));
}

export interface Mlps3Applications {
  readonly total: number;
  readonly withCertificates: number;
  /** "site/domain" of applications without a valid server-tls certificate from the service. */
  readonly missing: readonly string[];
  /** Of those, the ones that hold only a hand-issued one (`pki issue --application`). */
  readonly handIssued: readonly string[];
}

export async function mlps3Applications(pki: PkiStore, fabric: Fabric, now = new Date()): Promise<Mlps3Applications> {
  const viaAcme = (await pki.db.versions())['acme'] !== undefined;
  const rows = await pki.db.query<{ site: string; application: string; service: number }>(
    `SELECT site, application, MAX(${viaAcme ? 'CASE WHEN serial IN (SELECT serial FROM acme_certificates) THEN 1 ELSE 0 END' : '0'}) AS service FROM pki_certificates
     WHERE status = 'active' AND profile = 'server-tls' AND application IS NOT NULL AND not_before <= $1 AND not_after > $1 AND ${ISSUER_ACTIVE}
     GROUP BY site, application`,
    [now.toISOString()],
  );
  const fromService = new Set(rows.filter((r) => Number(r.service) === 1).map((r) => `${r.site}/${r.application}`));
  const byHand = new Set(rows.filter((r) => Number(r.service) !== 1).map((r) => `${r.site}/${r.application}`));
  let total = 0;
  let withCertificates = 0;
  const missing: string[] = [];
  const handIssued: string[] = [];
  for (const site of fabric.sites) {
    if (site.mlpsLevel < 3) continue;
    for (const domain of fabric.domains(site)) {
      total += 1;
      const key = `${site.id}/${domain}`;
      if (fromService.has(key)) withCertificates += 1;
      else {
        missing.push(key);
        if (byHand.has(key)) handIssued.push(key);
      }
    }
  }
  return { total, withCertificates, missing, handIssued };
}

/**
 * Whether the hierarchy is the demo one `jinbao up` creates: its CA keys are protected by a
 * passphrase stored beside them in the state store, so anyone who reads the store can sign. Its
 * certificates are real X.509 but prove nothing about production. The same on both backends.
 */
export async function pkiProvenance(pki: PkiStore): Promise<{ kind: 'demo' | 'production'; detail: string }> {
  return (await demoPassphrase(pki)) !== undefined
    ? { kind: 'demo', detail: `demo hierarchy: the CA passphrase is stored beside the keys (in ${pki.where})` }
    : { kind: 'production', detail: 'production hierarchy: no passphrase is stored in the state store' };
}

/** A certificate as the compliance checks and reports read it: everything but its DER. */
export type CertificateSummary = Pick<CertificateRecord, 'serial' | 'profile' | 'subject' | 'site' | 'caId' | 'notBefore' | 'notAfter' | 'status'>;

/**
 * Every certificate of the store without its DER, in issuance order. At a million certificates
 * the DER is most of the bytes: reading the records whole (`listCertificates`) held gigabytes and
 * kept the report in garbage collection for minutes; these rows are what the checks read.
 */
export async function certificateSummaries(pki: PkiStore): Promise<CertificateSummary[]> {
  const rows = await pki.db.query<{ serial: string; profile: string; subject: string; site: string; ca_id: string; not_before: string; not_after: string; status: 'active' | 'revoked' }>(
    'SELECT serial, profile, subject, site, ca_id, not_before, not_after, status FROM pki_certificates ORDER BY issued_at, id',
  );
  return rows.map((r) => ({ serial: r.serial, profile: r.profile, subject: r.subject, site: r.site, caId: r.ca_id, notBefore: new Date(r.not_before), notAfter: new Date(r.not_after), status: r.status }));
}
