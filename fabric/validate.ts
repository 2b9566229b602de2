import { didYouMean } from '../lib/suggest.js';
import { MINISTRY_ID, OUTLET_KINDS, type Inventory, type Site, type Tier } from './model.js';
import type { Problem } from './problems.js';

const PARENT_TIER: Readonly<Record<Tier, Tier | undefined>> = {
  ministry: undefined,
  province: 'ministry',
  prefecture: 'province',
};

/**
 * Checks that the schema cannot express: references between sites, the tier structure, counts
 * that contradict each other. Every problem is collected; nothing stops at the first.
 */
export interface PartialCheck {
  /** Position of each given site in the original document. */
  readonly indexes: readonly number[];
  /** Ids of every site in the document, also those that failed the schema. */
  readonly knownIds: ReadonlySet<string>;
}

/**
 * `partial` is given when only the schema-valid sites of a broken document are checked: references
 * to sites that exist but failed the schema are not reported again, and document-wide counts are skipped.
 */
export function checkInventory(inv: Pick<Inventory, 'sites'>, partial?: PartialCheck): Problem[] {
  const problems: Problem[] = [];
  const firstIndex = new Map<string, number>();
  const original = (i: number) => partial?.indexes[i] ?? i;
  const exists = (id: string) => byId.has(id) || (partial?.knownIds.has(id) ?? false);
  inv.sites.forEach((s, i) => {
    i = original(i);
    const prev = firstIndex.get(s.id);
    if (prev !== undefined) problems.push({ path: ['sites', i, 'id'], message: `duplicate site id "${s.id}" (first used by sites[${prev}])` });
    else firstIndex.set(s.id, i);
  });
  const byId = new Map<string, Site>();
  for (const s of inv.sites) if (!byId.has(s.id)) byId.set(s.id, s);
  const ids = [...byId.keys()];

  const ministries = inv.sites.filter((s) => s.tier === 'ministry');
  if (!partial && ministries.length !== 1) {
    problems.push({ path: ['sites'], message: `an inventory has exactly one ministry site, got ${ministries.length}` });
  }

  const slugs = new Map<string, number>();
  const agencyCodes = new Map<string, string>();

  inv.sites.forEach((s, i) => {
    i = original(i);
    const at = (...rest: (string | number)[]) => ['sites', i, ...rest];
    if (s.tier === 'ministry' && s.id !== MINISTRY_ID) {
      problems.push({ path: at('id'), message: `the ministry's id is "${MINISTRY_ID}", got "${s.id}"` });
    }
    if (s.tier === 'province' && !s.id.endsWith('0000')) {
      problems.push({ path: at('id'), message: `a province's code ends in "0000", got "${s.id}"` });
    }
    if (s.tier === 'prefecture' && (s.id.endsWith('0000') || !s.id.endsWith('00'))) {
      problems.push({ path: at('id'), message: `a prefecture's code has the form "PPCC00" (e.g. "440100"), got "${s.id}"` });
    }

    const wantParentTier = PARENT_TIER[s.tier];
    if (!wantParentTier) {
      if (s.parent !== undefined) problems.push({ path: at('parent'), message: `the ministry has no parent, got "${s.parent}"` });
    } else if (s.parent === undefined) {
      problems.push({ path: at('parent'), message: `a ${s.tier} needs a parent ${wantParentTier}` });
    } else {
      const parent = byId.get(s.parent);
      if (!parent && exists(s.parent)) {
        // failed the schema itself; reported there
      } else if (!parent) {
        problems.push({ path: at('parent'), message: `unknown site "${s.parent}"${didYouMean(s.parent, ids)}` });
      } else if (parent.tier !== wantParentTier) {
        problems.push({ path: at('parent'), message: `a ${s.tier}'s parent must be a ${wantParentTier}, got ${parent.tier} "${parent.id}"` });
      } else if (s.tier === 'prefecture' && s.id.slice(0, 2) !== parent.id.slice(0, 2)) {
        problems.push({ path: at('parent'), message: `prefecture "${s.id}" lies in province "${s.id.slice(0, 2)}0000" by its code, got parent "${parent.id}"` });
      }
    }

    if (s.centralized !== undefined && s.tier !== 'province') {
      problems.push({ path: at('centralized'), message: `only a province can centralize its data, got a ${s.tier}` });
    }
    if (s.dr) {
      if (s.dr.site === s.id) problems.push({ path: at('dr', 'site'), message: `a site cannot be its own disaster-recovery center ("${s.id}")` });
      else if (!exists(s.dr.site)) problems.push({ path: at('dr', 'site'), message: `unknown DR site "${s.dr.site}"${didYouMean(s.dr.site, ids)}` });
    }

    const prevSlug = slugs.get(s.slug);
    if (prevSlug !== undefined) problems.push({ path: at('slug'), message: `duplicate slug "${s.slug}" (first used by sites[${prevSlug}])` });
    else slugs.set(s.slug, i);

    if (s.staff.requiringCertificates > s.staff.total) {
      problems.push({ path: at('staff', 'requiringCertificates'), message: `${s.staff.requiringCertificates} staff requiring certificates is more than the ${s.staff.total} staff in total` });
    }
    if (s.serviceAgencies.connected > s.serviceAgencies.total) {
      problems.push({ path: at('serviceAgencies', 'connected'), message: `connected ${s.serviceAgencies.connected} is more than the total ${s.serviceAgencies.total}` });
    }
    if (s.programmes && s.tier !== 'prefecture') {
      problems.push({ path: at('programmes'), message: `programmes are tracked per prefecture, got a ${s.tier}` });
    }
    if (s.ingestion && s.tier !== 'province') {
      problems.push({ path: at('ingestion'), message: `ingestion rates are tracked per province, got a ${s.tier}` });
    }
    s.accessPlatforms.forEach((a, j) => {
      const prev = agencyCodes.get(a.code);
      if (prev !== undefined) {
        problems.push({ path: at('accessPlatforms', j, 'code'), message: `duplicate access platform "${a.code}" (also under site "${prev}")` });
      } else agencyCodes.set(a.code, s.id);
      if (byId.has(a.code) && a.code !== s.id) {
        problems.push({ path: at('accessPlatforms', j, 'code'), message: `access platform code "${a.code}" is already a site id` });
      }
      for (const kind of OUTLET_KINDS) {
        const c = a.outlets[kind];
        if (c.connected > c.total) {
          problems.push({ path: at('accessPlatforms', j, 'outlets', kind, 'connected'), message: `connected ${c.connected} is more than the total ${c.total}` });
        }
      }
    });
  });
  return problems;
}
