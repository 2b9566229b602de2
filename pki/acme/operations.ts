import type { Fabric } from '../../fabric/index.js';
import type { StateAccess } from '../../lib/context.js';
import { createEabKey, type EabKey } from './eab.js';
import { AcmeStore } from './store.js';

/** `jinbao acme eab create`: a new External Account Binding key for one site (and application), audited by the caller. */
export async function createEab(state: StateAccess, fabric: Fabric, passphrase: string, opts: { site: string; application?: string; validityDays?: number }): Promise<EabKey> {
  const store = await AcmeStore.open(await state.database());
  return createEabKey(store, fabric, passphrase, opts);
}

/** `jinbao acme eab list`: key ids, sites and whether an account used them (never the HMAC keys). */
export async function listEab(state: StateAccess): Promise<{ kid: string; site: string; application: string | null; createdAt: string; expiresAt: string; accountId: string | null }[]> {
  const store = await AcmeStore.open(await state.database());
  return (await store.listEabKeys()).map((r) => ({ kid: r.kid, site: r.site, application: r.application, createdAt: r.created_at, expiresAt: r.expires_at, accountId: r.account_id }));
}

/**
 * The key id each site's cert-manager ClusterIssuer binds with: per site, the newest unexpired EAB
 * key made for the whole site (no --application). Reads only: a state without ACME tables has none.
 */
export async function siteEabKeyIds(state: StateAccess, now = new Date()): Promise<Record<string, string>> {
  if (!state.hasStore()) return {};
  const db = await state.database();
  if ((await db.versions())['acme'] === undefined) return {};
  const rows = await db.query<{ kid: string; site: string }>(
    'SELECT kid, site FROM acme_eab_keys WHERE application IS NULL AND expires_at > $1 ORDER BY created_at, kid',
    [now.toISOString()],
  );
  return Object.fromEntries(rows.map((r) => [r.site, r.kid]));
}
