import { didYouMean } from '../lib/suggest.js';
import { MINISTRY_ID, OUTLET_KINDS, type AccessPlatform, type Site, type Tier } from './model.js';
import type { Problem } from './problems.js';

const PARENT_TIER: Readonly<Record<Tier, Tier | undefined>> = {
  ministry: undefined,
  province: 'ministry',
  prefecture: 'province',
};

/**
 * What could be read of one site: every field that is valid on its own, so that a site with one
 * bad field is still cross-checked on all the others. A fully valid site is a ReadableSite.
 */
export type ReadableSite = { readonly [K in Exclude<keyof Site, 'accessPlatforms'>]?: Site[K] } & {
  /** Each platform that is valid on its own, at its original position; the others are undefined. */
  readonly accessPlatforms?: readonly (AccessPlatform | undefined)[];
  /** Fields present in the document but invalid (reported by the schema, not again as missing). */
  readonly malformed?: readonly string[];
};

export interface CheckOptions {
  /**
   * Ids written on sites whose `id` field itself is malformed (a number, say): references to them
   * are not reported again as unknown, the schema already said what is wrong.
   */
  readonly unreadableIds?: ReadonlySet<string>;
  /** Names a position for messages that point at a second place (`sites[4]` or `sites[4] (file:12:5)`). */
  readonly where?: (path: readonly (string | number)[]) => string;
}

/**
 * Checks that the schema cannot express: references between sites, the tier structure, counts
 * that contradict each other. `sites` holds, at each original position, what could be read of that
 * site (undefined when nothing could). Every problem is collected; nothing stops at the first, and
 * one root cause gives one problem: a site whose id repeats an earlier one is reported once, and the
 * slug and platform codes it shares with that twin (a copy-pasted site) are not reported again.
 */
export function checkInventory(sites: readonly (ReadableSite | undefined)[], opts: CheckOptions = {}): Problem[] {
  const problems: Problem[] = [];
  const where = opts.where ?? ((path) => formatSitePath(path));
  const byId = new Map<string, { site: ReadableSite; index: number }>();
  const twinOf = new Map<number, number>();
  sites.forEach((s, i) => {
    if (s?.id === undefined) return;
    const first = byId.get(s.id);
    if (first === undefined) byId.set(s.id, { site: s, index: i });
    else {
      twinOf.set(i, first.index);
      problems.push({
        path: ['sites', i, 'id'],
        message: `duplicate site id "${s.id}", first used by ${where(['sites', first.index, 'id'])}; give this site its own code or remove it`,
      });
    }
  });
  const ids = [...byId.keys()];
  const exists = (id: string) => byId.has(id) || (opts.unreadableIds?.has(id) ?? false);

  if (sites.every((s) => s?.tier !== undefined)) {
    const ministries = sites.filter((s) => s?.tier === 'ministry').length;
    if (ministries !== 1) {
      problems.push({
        path: ['sites'],
        message: `an inventory has exactly one ministry site (id "${MINISTRY_ID}"), got ${ministries}; ${ministries === 0 ? 'add it' : 'keep one'}`,
      });
    }
  }

  const slugs = new Map<string, number>();
  const agencyCodes = new Map<string, { siteId: string; index: number }>();

  sites.forEach((s, i) => {
    if (!s) return;
    const at = (...rest: (string | number)[]) => ['sites', i, ...rest];
    const twin = twinOf.get(i);
    if (twin === undefined && s.id !== undefined) problems.push(...codeProblems(s, s.id, at));

    if (s.tier !== undefined) {
      const wantParentTier = PARENT_TIER[s.tier];
      if (!wantParentTier) {
        if (s.parent !== undefined) problems.push({ path: at('parent'), message: `got "${s.parent}", but the ministry has no parent; remove the field` });
      } else if (s.parent === undefined) {
        if (!s.malformed?.includes('parent')) problems.push({ path: at('parent'), message: `is required: a ${s.tier} needs a parent ${wantParentTier}` });
      } else {
        const parent = byId.get(s.parent)?.site;
        if (!parent && exists(s.parent)) {
          // the parent's own id is malformed; the schema reported it there
        } else if (!parent) {
          problems.push({ path: at('parent'), message: `unknown site "${s.parent}"${didYouMean(s.parent, ids)}` });
        } else if (parent.tier !== undefined && parent.tier !== wantParentTier) {
          problems.push({ path: at('parent'), message: `a ${s.tier}'s parent must be a ${wantParentTier}, got ${parent.tier} "${parent.id}"` });
        } else if (twin === undefined && s.tier === 'prefecture' && s.id !== undefined && s.id.slice(0, 2) !== s.parent.slice(0, 2)) {
          problems.push({
            path: at('parent'),
            message: `prefecture "${s.id}" lies in province "${s.id.slice(0, 2)}0000" by its code, got parent "${s.parent}"`,
          });
        }
      }
      if (s.centralized !== undefined && s.tier !== 'province') {
        problems.push({ path: at('centralized'), message: `got ${s.centralized} on a ${s.tier}, but only a province can centralize its data; remove the field` });
      }
      if (s.programmes && s.tier !== 'prefecture') {
        problems.push({ path: at('programmes'), message: `got programmes on a ${s.tier}, but they are tracked per prefecture; move them to the prefectures` });
      }
      if (s.socialSecurityCardHolders !== undefined && s.tier === 'ministry') {
        problems.push({
          path: at('socialSecurityCardHolders'),
          message: `got ${s.socialSecurityCardHolders} on the ministry, but cards are issued by prefectures and provinces; move the figure to them`,
        });
      }
      if (s.ingestion && s.tier !== 'province') {
        problems.push({ path: at('ingestion'), message: `got ingestion rates on a ${s.tier}, but they are tracked per province; move them to the province` });
      }
    }

    if (s.dr) {
      if (s.dr.site === s.id) {
        problems.push({ path: at('dr', 'site'), message: `got "${s.id}", the site itself, but a site cannot be its own disaster-recovery center; name another site` });
      } else if (!exists(s.dr.site)) {
        problems.push({ path: at('dr', 'site'), message: `unknown DR site "${s.dr.site}"${didYouMean(s.dr.site, ids)}` });
      }
    }

    if (s.slug !== undefined) {
      const prevSlug = slugs.get(s.slug);
      if (prevSlug === undefined) slugs.set(s.slug, i);
      else if (prevSlug !== twin) {
        problems.push({ path: at('slug'), message: `duplicate slug "${s.slug}", first used by ${where(['sites', prevSlug, 'slug'])}; slugs name resources and must be unique` });
      }
    }

    if (s.staff && s.staff.requiringCertificates > s.staff.total) {
      problems.push({
        path: at('staff', 'requiringCertificates'),
        message: `${s.staff.requiringCertificates} staff requiring certificates is more than the ${s.staff.total} staff in total; lower it or raise staff.total`,
      });
    }
    if (s.serviceAgencies && s.serviceAgencies.connected > s.serviceAgencies.total) {
      problems.push({ path: at('serviceAgencies', 'connected'), message: connectedMessage(s.serviceAgencies) });
    }
    s.accessPlatforms?.forEach((a, j) => {
      if (!a) return;
      const prev = agencyCodes.get(a.code);
      if (prev === undefined) agencyCodes.set(a.code, { siteId: s.id ?? `sites[${i}]`, index: i });
      else if (prev.index !== twin) {
        problems.push({ path: at('accessPlatforms', j, 'code'), message: `duplicate access platform "${a.code}" (also under site "${prev.siteId}"); a county belongs to one prefecture` });
      }
      if (twin === undefined && byId.has(a.code) && a.code !== s.id) {
        problems.push({ path: at('accessPlatforms', j, 'code'), message: `access platform code "${a.code}" is already a site id; a county's code differs from every site's` });
      }
      for (const kind of OUTLET_KINDS) {
        const c = a.outlets[kind];
        if (c.connected > c.total) problems.push({ path: at('accessPlatforms', j, 'outlets', kind, 'connected'), message: connectedMessage(c) });
      }
    });
  });
  return problems;
}

function codeProblems(s: ReadableSite, id: string, at: (...rest: (string | number)[]) => (string | number)[]): Problem[] {
  if (s.tier === 'ministry' && id !== MINISTRY_ID) return [{ path: at('id'), message: `got "${id}", but the ministry's id is "${MINISTRY_ID}"` }];
  if (s.tier === 'province' && !id.endsWith('0000')) {
    return [{ path: at('id'), message: `got "${id}", but a province's code ends in "0000" (e.g. "440000")` }];
  }
  if (s.tier === 'prefecture' && (id.endsWith('0000') || !id.endsWith('00'))) {
    return [{ path: at('id'), message: `got "${id}", but a prefecture's code has the form "PPCC00" (e.g. "440100")` }];
  }
  return [];
}

function connectedMessage(c: { total: number; connected: number }): string {
  return `connected ${c.connected} is more than the total ${c.total}; lower connected or raise total`;
}

function formatSitePath(path: readonly (string | number)[]): string {
  return `sites[${String(path[1])}]`;
}
