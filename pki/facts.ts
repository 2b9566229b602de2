import { existsSync } from 'node:fs';
import type { Fabric } from '../fabric/index.js';
import { demoPassphraseFile } from './passphrase.js';
import { PROFILES } from './profiles.js';
import type { PkiStore } from './store.js';

/**
 * What the PKI contributes to the plan's indicators, computed from the certificate store.
 *
 * Staff: a staff member holds a certificate when at least one staff profile certificate with their
 * staff number (subject serialNumber) is active (not revoked) and within its validity now; a
 * person with both an authentication and a signing certificate counts once; certificates of a
 * revoked CA do not count. The KPI caps each
 * site at its staff total.
 *
 * MLPS level-3 applications: the inventory implies one application per business domain a site
 * hosts (fabric placement policy) at every site whose MLPS level is 3 or more. An application
 * counts as using certificates when an active, currently valid server-tls certificate names that
 * site and that domain (`jinbao pki issue --profile server-tls --application DOMAIN`).
 */

/**
 * A certificate covers nothing once its issuing CA is revoked, whatever its own status says. The
 * root cannot be revoked and issuing CAs sign no CAs, so the issuing CA is the whole chain to check.
 */
const ISSUER_ACTIVE = "ca_id IN (SELECT id FROM pki_cas WHERE status = 'active')";

const STAFF_PROFILES = Object.values(PROFILES)
  .filter((p) => p.staff)
  .map((p) => p.name);

export function staffCertificateHolders(pki: PkiStore, now = new Date()): Map<string, number> {
  const rows = pki.state.db
    .prepare(
      `SELECT site, COUNT(DISTINCT staff_number) AS n FROM pki_certificates
       WHERE status = 'active' AND profile IN (${STAFF_PROFILES.map(() => '?').join(',')}) AND not_before <= ? AND not_after > ? AND staff_number IS NOT NULL
         AND ${ISSUER_ACTIVE}
       GROUP BY site`,
    )
    .all(...STAFF_PROFILES, now.toISOString(), now.toISOString()) as { site: string; n: number }[];
  return new Map(rows.map((r) => [r.site, r.n]));
}

export interface Mlps3Applications {
  readonly total: number;
  readonly withCertificates: number;
  /** "site/domain" of applications without a valid server-tls certificate. */
  readonly missing: readonly string[];
}

export function mlps3Applications(pki: PkiStore, fabric: Fabric, now = new Date()): Mlps3Applications {
  const covered = new Set(
    (
      pki.state.db
        .prepare(
          `SELECT DISTINCT site, application FROM pki_certificates
           WHERE status = 'active' AND profile = 'server-tls' AND application IS NOT NULL AND not_before <= ? AND not_after > ? AND ${ISSUER_ACTIVE}`,
        )
        .all(now.toISOString(), now.toISOString()) as { site: string; application: string }[]
    ).map((r) => `${r.site}/${r.application}`),
  );
  let total = 0;
  let withCertificates = 0;
  const missing: string[] = [];
  for (const site of fabric.sites) {
    if (site.mlpsLevel < 3) continue;
    for (const domain of fabric.domains(site)) {
      total += 1;
      const key = `${site.id}/${domain}`;
      if (covered.has(key)) withCertificates += 1;
      else missing.push(key);
    }
  }
  return { total, withCertificates, missing };
}

/**
 * Whether the hierarchy in `stateDir` is the demo one `jinbao up` creates: its CA keys are
 * protected by a passphrase stored beside them (pki/DEMO-PASSPHRASE), so anyone who reads the
 * directory can sign. Its certificates are real X.509 but prove nothing about production.
 */
export function pkiProvenance(stateDir: string): { kind: 'demo' | 'production'; detail: string } {
  const file = demoPassphraseFile(stateDir);
  return existsSync(file)
    ? { kind: 'demo', detail: `demo hierarchy: the CA passphrase is stored beside the keys (${file})` }
    : { kind: 'production', detail: 'production hierarchy: no passphrase is stored in the state directory' };
}
