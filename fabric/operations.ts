import { ExitCode } from '../lib/errors.js';
import type { Database } from '../lib/sql/index.js';
import type { Fabric } from './fabric.js';
import type { IpamResult } from './ipam.js';
import { IPAM_LOCK, IPAM_MIGRATIONS, loadLedger, readLedger, writeLedger } from './ipam-ledger.js';
import { OUTLET_KINDS, type InventoryInput, type Site } from './model.js';
import { jinbaoError } from '../lib/i18n/index.js';
import { FABRIC_MESSAGES } from './messages.js';

/**
 * Allocate every prefix with the stored ledger and record the new allocations, so re-running never
 * renumbers. Used by `ipam`, `up`, the WAN renderer and the stacks. Reading, allocating and
 * recording happen in one transaction holding the ledger's lock: allocators running at once (other
 * processes, other hosts on a shared store) take turns, each placing around what the ones before
 * it recorded. A failed allocation records nothing.
 */
export async function allocateAndRecord(db: Database, fabric: Fabric): Promise<IpamResult & { recorded: number }> {
  await db.migrate('ipam', IPAM_MIGRATIONS);
  return db.write(
    async (tx) => {
      const stored = await readLedger(tx);
      const result = fabric.allocate(stored);
      if (result.problems.length > 0) {
        throw jinbaoError(FABRIC_MESSAGES, 'ipam.failed', { n: result.problems.length }, {
          exitCode: ExitCode.invalidInput,
          details: result.problems.map((p) => p.message),
        });
      }
      const recorded = await writeLedger(tx, result.ledger, stored);
      return { ...result, recorded };
    },
    { locks: [IPAM_LOCK] },
  );
}

/** Counts, outlets and notes of an inventory (`inventory show`). */
export function inventorySummary(f: Fabric) {
  const platforms = f.sites.flatMap((s) => s.accessPlatforms);
  const outlets = Object.fromEntries(
    OUTLET_KINDS.map((k) => [k, platforms.reduce((acc, a) => ({ total: acc.total + a.outlets[k].total, connected: acc.connected + a.outlets[k].connected }), { total: 0, connected: 0 })]),
  );
  return {
    name: f.inventory.metadata.name,
    sampleData: f.sampleData,
    notes: f.inventory.metadata.notes,
    counts: {
      ministry: f.byTier('ministry').length,
      province: f.byTier('province').length,
      prefecture: f.byTier('prefecture').length,
      accessPlatforms: platforms.length,
      accessPlatformsConnected: platforms.filter((a) => a.connected).length,
      drPairings: f.sites.filter((s) => s.dr).length,
      staff: f.sites.reduce((n, s) => n + s.staff.total, 0),
    },
    outlets,
  };
}

/** One site as `inventory show` lists it: placement, DR, staff, access platforms. */
export function siteSummary(f: Fabric, s: Site) {
  return {
    id: s.id,
    tier: s.tier,
    name: s.name,
    slug: s.slug,
    parent: s.parent ?? null,
    dataCenter: s.dataCenter,
    mlpsLevel: s.mlpsLevel,
    centralized: f.centralized(s),
    domains: f.domains(s),
    dr: s.dr ? { ...s.dr, ...f.objectives(s) } : null,
    drCenterFor: f.drProtectedBy(s).map((x) => x.id),
    staff: s.staff,
    backbone: s.backbone,
    serviceAgencies: s.serviceAgencies,
    accessPlatforms: s.accessPlatforms.length,
    accessPlatformsConnected: s.accessPlatforms.filter((a) => a.connected).length,
  };
}

/** The inventory as a document to edit; with a store, every current allocation is written in as a pin. */
export async function exportableInventory(f: Fabric, pinFrom?: Database): Promise<InventoryInput> {
  const doc: InventoryInput = structuredClone(f.inventory) as InventoryInput;
  if (pinFrom) {
    const { ledger } = f.allocate(await loadLedger(pinFrom));
    for (const site of doc.sites) {
      site.addressing = {
        block: ledger.get(`block:${site.id}`),
        dc: ledger.get(`dc:${site.id}`),
        ...(site.dr ? { dr: ledger.get(`dr:${site.id}`) } : {}),
        underlay: ledger.get(`underlay:${site.id}`),
      };
      for (const a of site.accessPlatforms ?? []) a.prefix = ledger.get(`agency:${a.code}`);
    }
  }
  return doc;
}
