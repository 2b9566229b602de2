import { closest, didYouMean } from '../lib/suggest.js';
import { problem, said, suggestion } from './messages.js';
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
      problems.push(
        problem(['sites', i, 'id'],
        'problem.duplicateId', { id: s.id, first: where(['sites', first.index, 'id']) }),
      );
    }
  });
  const ids = [...byId.keys()];
  const exists = (id: string) => byId.has(id) || (opts.unreadableIds?.has(id) ?? false);

  if (sites.every((s) => s?.tier !== undefined)) {
    const ministries = sites.filter((s) => s?.tier === 'ministry').length;
    if (ministries !== 1) {
      problems.push(
        problem(['sites'],
        'problem.ministryCount', { id: MINISTRY_ID, count: ministries, fix: ministries === 0 ? said('problem.addIt') : said('problem.keepOne') }),
      );
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
        if (s.parent !== undefined) problems.push(problem(at('parent'), 'problem.ministryParent', { parent: s.parent }));
      } else if (s.parent === undefined) {
        if (!s.malformed?.includes('parent')) problems.push(problem(at('parent'), 'problem.parentRequired', { tier: s.tier, parentTier: wantParentTier }));
      } else {
        const parent = byId.get(s.parent)?.site;
        if (!parent && exists(s.parent)) {
          // the parent's own id is malformed; the schema reported it there
        } else if (!parent) {
          problems.push(problem(at('parent'), 'problem.unknownParent', { parent: s.parent, suggestion: suggestion(closest(s.parent, ids)) }));
        } else if (parent.tier !== undefined && parent.tier !== wantParentTier) {
          problems.push(problem(at('parent'), 'problem.parentTier', { tier: s.tier, parentTier: wantParentTier, actualTier: parent.tier, parent: parent.id ?? '' }));
        } else if (twin === undefined && s.tier === 'prefecture' && s.id !== undefined && s.id.slice(0, 2) !== s.parent.slice(0, 2)) {
          problems.push(
            problem(at('parent'),
            'problem.prefectureProvince', { id: s.id, province: `${s.id.slice(0, 2)}0000`, parent: s.parent }),
          );
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
        problems.push(problem(at('dr', 'site'), 'problem.selfDr', { id: s.id ?? '' }));
      } else if (!exists(s.dr.site)) {
        problems.push(problem(at('dr', 'site'), 'problem.unknownDr', { site: s.dr.site, suggestion: suggestion(closest(s.dr.site, ids)) }));
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
      problems.push(
        problem(at('staff', 'requiringCertificates'),
        'problem.staffCerts', { certs: s.staff.requiringCertificates, total: s.staff.total }),
      );
    }
    if (s.serviceAgencies && s.serviceAgencies.connected > s.serviceAgencies.total) {
      problems.push(connectedProblem(at('serviceAgencies', 'connected'), s.serviceAgencies));
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
        if (c.connected > c.total) problems.push(connectedProblem(at('accessPlatforms', j, 'outlets', kind, 'connected'), c));
      }
    });
  });
  return problems;
}

function codeProblems(s: ReadableSite, id: string, at: (...rest: (string | number)[]) => (string | number)[]): Problem[] {
  if (s.tier === 'ministry' && id !== MINISTRY_ID) return [problem(at('id'), 'problem.ministryId', { id, want: MINISTRY_ID })];
  if (s.tier === 'province' && !id.endsWith('0000')) {
    return [problem(at('id'), 'problem.provinceId', { id })];
  }
  if (s.tier === 'prefecture' && (id.endsWith('0000') || !id.endsWith('00'))) {
    return [problem(at('id'), 'problem.prefectureId', { id })];
  }
  return [];
}

function connectedProblem(path: readonly (string | number)[], c: { total: number; connected: number }): Problem {
  return problem(path, 'problem.connected', { connected: c.connected, total: c.total });
}

function formatSitePath(path: readonly (string | number)[]): string {
  return `sites[${String(path[1])}]`;
}
