import type { Fabric } from '../fabric/index.js';
import { demoPassphrase } from './passphrase.js';
import { PROFILES } from './profiles.js';
import type { PkiStore } from './store.js';

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

export async function staffCertificateHolders(pki: PkiStore, now = new Date()): Promise<Map<string, number>> {
  const n = STAFF_PROFILES.length;
  const rows = await pki.db.query<{ site: string; n: number }>(
    `SELECT site, COUNT(DISTINCT staff_number) AS n FROM pki_certificates
     WHERE status = 'active' AND profile IN (${STAFF_PROFILES.map((_, i) => `$${i + 1}`).join(',')}) AND not_before <= $${n + 1} AND not_after > $${n + 1} AND staff_number IS NOT NULL
       AND ${ISSUER_ACTIVE}
     GROUP BY site`,
    [...STAFF_PROFILES, now.toISOString()],
  );
  return new Map(rows.map((r) => [r.site, r.n]));
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
