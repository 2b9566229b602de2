import type { LiveFacts } from '../fabric/index.js';
import type { StateAccess } from '../lib/context.js';
import { rosterCertificateHolders, type RosterJoin } from '../pki/index.js';

/** The people a roster lists as active, for the PKI's count of who among them holds a certificate. */
export const ACTIVE_ON_ROSTER: RosterJoin = { table: 'staff_members', site: 'site', staffNumber: 'staff_number', where: "m.status = 'active'" };

/**
 * The staff KPI's roster side: per site with a roster, the active people on it and how many of
 * them hold a valid staff certificate. What counts as a valid staff certificate is the PKI's
 * (pki/facts.ts `rosterCertificateHolders`, the same definition as its per-site holders); this
 * only says who is on the roster. Read only, and nothing is created when the store has no rosters.
 */
export async function staffLiveFacts(state: StateAccess, now = new Date()): Promise<Partial<LiveFacts>> {
  if (!state.hasStore()) return {};
  const db = await state.database();
  const versions = await db.versions();
  if (!versions['staff'] || !versions['pki']) return {};
  const rosters = await rosterCertificateHolders(db, ACTIVE_ON_ROSTER, now);
  return rosters.size ? { staffRosters: rosters } : {};
}
