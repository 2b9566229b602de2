import type { LiveFacts } from '../fabric/index.js';
import type { StateAccess } from '../lib/context.js';
import { STAFF_PROFILES } from './operations.js';

/**
 * The staff KPI's roster side: per site with a roster, the active people on it and how many of
 * them hold a valid staff certificate (active, within validity, under an unrevoked CA, with their
 * staff number). One query joining the roster with the certificate table, so it stays one index
 * walk per site at a million certificates; read only, and nothing is created when the store has
 * no rosters.
 */
export async function staffLiveFacts(state: StateAccess, now = new Date()): Promise<Partial<LiveFacts>> {
  if (!state.hasStore()) return {};
  const db = await state.database();
  const versions = await db.versions();
  if (!versions['staff'] || !versions['pki']) return {};
  const n = STAFF_PROFILES.length;
  const rows = await db.query<{ site: string; people: number; holders: number }>(
    `SELECT m.site AS site, COUNT(*) AS people,
            SUM(CASE WHEN EXISTS (
              SELECT 1 FROM pki_certificates c
              WHERE c.site = m.site AND c.staff_number = m.staff_number AND c.status = 'active'
                AND c.profile IN (${STAFF_PROFILES.map((_, i) => `$${i + 1}`).join(',')})
                AND c.not_before <= $${n + 1} AND c.not_after > $${n + 1}
                AND c.ca_id IN (SELECT id FROM pki_cas WHERE status <> 'revoked')
            ) THEN 1 ELSE 0 END) AS holders
     FROM staff_members m WHERE m.status = 'active' GROUP BY m.site`,
    [...STAFF_PROFILES, now.toISOString()],
  );
  if (!rows.length) return {};
  return { staffRosters: new Map(rows.map((r) => [r.site, { people: Number(r.people), holders: Number(r.holders) }])) };
}
