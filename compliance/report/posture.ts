import { said, sayIn, type Said } from '../message.js';
import { formatActual, formatTarget, type Indicator } from '../../fabric/index.js';
import type { ComplianceInputs } from '../inputs.js';
import type { ComplianceReport, Provenance, Status } from '../model.js';

/** Everything the posture page shows, as plain data (also written next to the page as JSON). */
export interface PostureData {
  readonly generatedAt: string;
  readonly inventory: { readonly name: string; readonly sampleData: boolean; readonly sites: number };
  readonly compliant: boolean;
  readonly indicators: readonly {
    readonly id: string;
    readonly title: string;
    readonly titleZh: string;
    readonly kind: string;
    readonly target: string;
    /** Percent indicators only (the chart's axis is percent); null for one counted in people. */
    readonly targetPercent: number | null;
    readonly actual: number | null;
    /** The measured figure with its unit, as the table shows it ("91.7%", "7.62 亿人", "—"). */
    readonly actualText: string;
    readonly status: Indicator['status'];
    readonly note: string;
    /** The parts of `note`, for renderers that word it in another language. */
    readonly numerator: number | null;
    readonly denominator: number | null;
    readonly needs: string | null;
  }[];
  readonly controls: readonly {
    readonly id: string;
    readonly title: string;
    readonly clause: string;
    readonly clauseText: string;
    readonly binding: boolean;
    readonly severity: string;
    readonly status: Status;
    readonly summary: string;
    /** `summary` as a catalogue message (compliance/locales key and values), for renderers in another language; null when it has none. */
    readonly summaryMessage: { readonly site: string | null; readonly message: Said } | null;
    /** The kinds of evidence the findings rest on (declared, derived, observed, demo, lab). */
    readonly provenance: readonly Provenance[];
    readonly counts: Readonly<Record<Status, number>>;
  }[];
  /**
   * The staff indicator per province (`jinbao kpi`'s staffByProvince): staff, holders, percentage,
   * and how many sites counted from rosters and from the inventory's figures; unavailable while the
   * indicator needs state.
   */
  readonly staffByProvince: {
    readonly available: boolean;
    readonly target: string;
    readonly provinces: readonly {
      readonly province: string;
      readonly name: string;
      readonly staff: number;
      readonly holders: number;
      readonly actual: number;
      readonly status: 'met' | 'not-met';
      readonly rosterSites: number;
      readonly inventorySites: number;
      readonly sample: boolean;
    }[];
  };
  /** Site-scoped findings per province (a province with its prefectures), by status. */
  readonly byProvince: readonly { readonly province: string; readonly name: string; readonly counts: Readonly<Record<Status, number>>; readonly failing: readonly string[] }[];
  readonly certificates: { readonly available: boolean; readonly reason?: string; readonly reasonMessage?: Said; readonly byProfile: readonly { readonly profile: string; readonly active: number; readonly revoked: number; readonly other: number }[]; readonly expiryDays: readonly number[]; readonly authorities: readonly { readonly id: string; readonly algorithm: string; readonly parent: string | null; readonly notAfter: string; readonly status: string }[] };
  readonly drills: { readonly available: boolean; readonly reason?: string; readonly reasonMessage?: Said; readonly runs: readonly { readonly id: string; readonly site: string; readonly siteName: string; readonly finishedAt: string; readonly passed: boolean; readonly rtoSeconds: number | null; readonly rpoSeconds: number | null; readonly rpoRows: number | null; readonly rtoObjective: number; readonly rpoObjective: number }[] };
  readonly wan: { readonly indicators: readonly string[]; readonly available: boolean; readonly reason?: string; readonly reasonMessage?: Said; readonly links: number; readonly uplinks: number; readonly provincesWithTwoUplinks: number; readonly provinces: number };
}

const zero = (): Record<Status, number> => ({ pass: 0, fail: 0, manual: 0, 'not-run': 0 });
const WAN_INDICATORS = ['backbone-coverage', 'metro-coverage', 'county-platforms', 'grassroots-outlets'];

/** Shape the inputs and the compliance run into the page's data. */
export function buildPosture(inputs: ComplianceInputs, report: ComplianceReport): PostureData {
  const f = inputs.fabric;
  const provinceOf = (siteId: string) => {
    const s = f.findSite(siteId);
    if (!s || s.tier === 'ministry') return f.ministry;
    return s.tier === 'province' ? s : (f.parentOf(s) ?? s);
  };
  const provinces = new Map<string, { province: string; name: string; counts: Record<Status, number>; failing: string[] }>();
  for (const r of report.results) {
    if (r.control.scope !== 'site') continue;
    for (const finding of r.findings) {
      if (!finding.site) continue;
      const p = provinceOf(finding.site);
      const entry = provinces.get(p.id) ?? { province: p.id, name: p.name, counts: zero(), failing: [] };
      entry.counts[finding.status] += 1;
      if (finding.status === 'fail') entry.failing.push(`${r.control.id} ${finding.site}`);
      provinces.set(p.id, entry);
    }
  }

  const pki = inputs.pki;
  const profiles = new Map<string, { profile: string; active: number; revoked: number; other: number }>();
  for (const c of pki?.certificates ?? []) {
    const e = profiles.get(c.profile) ?? { profile: c.profile, active: 0, revoked: 0, other: 0 };
    if (c.status === 'active') e.active += 1;
    else if (c.status === 'revoked') e.revoked += 1;
    else e.other += 1;
    profiles.set(c.profile, e);
  }

  const links = inputs.wan?.links ?? [];
  const provinceSites = f.byTier('province');
  const uplinksOf = (id: string) => links.filter((l) => l.role === 'uplink' && (l.from === id || l.to === id)).length;

  return {
    generatedAt: report.generatedAt,
    inventory: { name: report.inventory.name, sampleData: report.inventory.sampleData, sites: f.sites.length },
    compliant: report.summary.compliant,
    indicators: inputs.indicators.map((i) => ({
      id: i.id,
      title: i.title,
      titleZh: i.titleZh,
      kind: i.kind,
      target: formatTarget(i),
      targetPercent: i.unit === '%' ? i.target.value : null,
      actual: i.unit === '%' ? (i.actual ?? null) : null,
      actualText: formatActual(i),
      status: i.status,
      note: i.status === 'needs' ? `needs ${i.needs ?? i.source}` : i.numerator !== undefined && i.denominator !== undefined ? `${i.numerator} of ${i.denominator}` : i.denominator !== undefined ? `mean over ${i.denominator}` : '',
      numerator: i.numerator ?? null,
      denominator: i.denominator ?? null,
      needs: i.status === 'needs' ? (i.needs ?? i.source) : null,
    })),
    controls: report.results.map((r) => {
      const counts = zero();
      for (const x of r.findings) counts[x.status] += 1;
      const first = r.findings.find((x) => x.status === r.status) ?? r.findings[0];
      return {
        id: r.control.id,
        title: r.control.title,
        clause: r.control.source.kind === 'mlps' ? `${r.control.source.standard} ${r.control.source.clause}` : `plan: ${r.control.source.indicator}`,
        clauseText: r.control.source.text,
        binding: r.control.binding,
        severity: r.control.severity,
        status: r.status,
        summary: first ? `${first.site ? `${first.site}: ` : ''}${first.message}` : '',
        summaryMessage: first?.said ? { site: first.site ?? null, message: first.said } : null,
        provenance: [...new Set(r.findings.flatMap((x) => x.evidence.map((e) => e.provenance ?? 'declared')))],
        counts,
      };
    }),
    staffByProvince: inputs.staffByProvince
      ? {
          available: true,
          target: formatTarget({ target: inputs.staffByProvince.target, unit: '%' }),
          provinces: inputs.staffByProvince.provinces.map((p) => ({
            province: p.province,
            name: p.name,
            staff: p.staff,
            holders: p.holders,
            actual: p.actual,
            status: p.status,
            rosterSites: p.fromRoster.sites,
            inventorySites: p.fromInventory.sites,
            sample: p.fromInventory.sample,
          })),
        }
      : { available: false, target: formatTarget({ target: { op: '>', value: 70 }, unit: '%' }), provinces: [] },
    byProvince: [...provinces.values()].sort((a, b) => a.province.localeCompare(b.province)),
    certificates: pki
      ? {
          available: true,
          byProfile: [...profiles.values()].sort((a, b) => a.profile.localeCompare(b.profile)),
          expiryDays: pki.certificates.filter((c) => c.status === 'active').map((c) => Math.floor((c.notAfter.getTime() - inputs.now.getTime()) / 86_400_000)),
          authorities: pki.authorities.map((a) => ({ id: a.id, algorithm: a.algorithm, parent: a.parent ?? null, notAfter: a.notAfter.toISOString(), status: a.status })),
        }
      : { available: false, ...unavailable(inputs.missing?.pki, 'inputs.noPkiState'), byProfile: [], expiryDays: [], authorities: [] },
    drills: inputs.drills
      ? {
          available: true,
          runs: [...inputs.drills.runs]
            .sort((a, b) => a.finishedAt.getTime() - b.finishedAt.getTime())
            .map((r) => {
              const s = f.findSite(r.site);
              const o = s ? f.objectives(s) : { rtoSeconds: 0, rpoSeconds: 0 };
              return { id: r.id, site: r.site, siteName: s?.name ?? r.site, finishedAt: r.finishedAt.toISOString(), passed: r.passed, rtoSeconds: r.rtoSeconds ?? null, rpoSeconds: r.rpoSeconds ?? null, rpoRows: r.rpoRows ?? null, rtoObjective: o.rtoSeconds, rpoObjective: o.rpoSeconds };
            }),
        }
      : { available: false, ...unavailable(inputs.missing?.drills, 'inputs.noDrillHistory'), runs: [] },
    wan: {
      indicators: WAN_INDICATORS,
      available: inputs.wan !== undefined,
      ...(inputs.wan ? {} : unavailable(inputs.missing?.wan, 'inputs.noWanPlan')),
      links: links.length,
      uplinks: links.filter((l) => l.role === 'uplink').length,
      provincesWithTwoUplinks: provinceSites.filter((p) => uplinksOf(p.id) >= 2).length,
      provinces: provinceSites.length,
    },
  };
}

/**
 * Why a part is not available, as the posture data keeps it: English text (`reason`) and, when the reason is
 * a catalogue message, that message (`reasonMessage`: its key and values, the same in every language) for the
 * page to say in its own language. `fallback` is the catalogue key used when no reason was given.
 */
function unavailable(reason: string | Said | undefined, fallback: string): { reason: string; reasonMessage?: Said } {
  if (typeof reason === 'string') return { reason };
  const message = reason ?? said(fallback);
  return { reason: sayIn('en', message), reasonMessage: message };
}
