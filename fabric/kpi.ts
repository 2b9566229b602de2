import { OUTLET_KINDS } from './model.js';
import type { Fabric } from './fabric.js';

/** The plan's targets (专栏2, 2015), computed from the inventory and, where needed, live state. */
export type IndicatorKind = 'binding' | 'expected';
export type IndicatorStatus = 'met' | 'not-met' | 'needs';
/** What an indicator counts in: a percentage, or 亿人 (hundreds of millions of people) as the plan writes card holders. */
export type IndicatorUnit = '%' | '亿人';

/** Where an indicator stands in the plan: its row of 专栏2 and, for a row with several figures, the item. */
export interface PlanRow {
  readonly row: number;
  readonly item?: string;
}

export interface Indicator {
  readonly id: string;
  readonly title: string;
  readonly titleZh: string;
  readonly kind: IndicatorKind;
  /** The row of 专栏2; absent for a target the plan states in its text only (§二, the 2015 goals). */
  readonly plan?: PlanRow;
  readonly unit: IndicatorUnit;
  readonly target: { readonly op: '>=' | '>'; readonly value: number };
  readonly status: IndicatorStatus;
  /** In `unit`: percent with one decimal, 亿人 with two; absent while the indicator needs live state. */
  readonly actual?: number;
  readonly numerator?: number;
  readonly denominator?: number;
  /** Where the figure comes from ("inventory", "pki", "drills", ...). */
  readonly source: string;
  /** `declared` when it rests on inventory figures people wrote; `observed` when on production PKI records or real-pair drills. */
  readonly provenance: 'declared' | 'observed';
  /** What is missing before the indicator can be computed. */
  readonly needs?: string;
}

/**
 * Facts from live state that some indicators need. Each feature contributes its part; an absent
 * field leaves its indicators as "needs: ...".
 */
export interface LiveFacts {
  /** Active staff certificates per site (pki). */
  readonly staffCertificates?: ReadonlyMap<string, number>;
  /**
   * Per site with an HR roster (staff): active people on it, and how many of them hold a valid
   * staff certificate. Replaces the inventory's staff figure and the certificate count for that site.
   */
  readonly staffRosters?: ReadonlyMap<string, { readonly people: number; readonly holders: number }>;
  /** Level-3 applications with a valid certificate from the certificate service (ACME), out of all level-3 applications (pki). */
  readonly mlps3Applications?: { readonly total: number; readonly withCertificates: number };
  /**
   * Sites with a passed DR drill against their real pair (`--target pg`) within the last 90 days
   * (dr-runbooks). Absent until a drill against a real pair has finished: lab drills do not count.
   */
  readonly recentPassedDrills?: ReadonlySet<string>;
  /** The hierarchy the certificate facts come from; a demo one (`jinbao up`) proves nothing and is not counted. */
  readonly pkiProvenance?: 'demo' | 'production';
}

interface Spec {
  id: string;
  title: string;
  titleZh: string;
  kind: IndicatorKind;
  plan?: PlanRow;
  unit?: IndicatorUnit;
  op: '>=' | '>';
  value: number;
}

const SPECS = {
  dcProvince: { id: 'dc-standard-province', title: 'Province data centers meeting the national standard', titleZh: '省级统一数据中心建成率', plan: { row: 1, item: '省级' }, kind: 'binding', op: '>=', value: 100 },
  dcPrefecture: { id: 'dc-standard-prefecture', title: 'Prefecture data centers meeting the national standard', titleZh: '地市统一数据中心建成率', plan: { row: 1, item: '地市级' }, kind: 'binding', op: '>=', value: 100 },
  backbone: { id: 'backbone-coverage', title: 'Province and prefecture backbone network coverage', titleZh: '省市主干网络覆盖率', plan: { row: 2 }, kind: 'binding', op: '>=', value: 100 },
  metro: { id: 'metro-coverage', title: 'Metro network coverage of HR/SS agencies', titleZh: '城域网覆盖管理服务机构', plan: { row: 3, item: '社会保障管理服务机构' }, kind: 'expected', op: '>=', value: 100 },
  county: { id: 'county-platforms', title: 'County access platforms connected', titleZh: '县级网络接入平台联网率', plan: { row: 3, item: '县级网络接入平台' }, kind: 'expected', op: '>=', value: 95 },
  grassroots: { id: 'grassroots-outlets', title: 'Streets, communities, townships, designated hospitals and retail pharmacies connected', titleZh: '街道社区乡镇定点医疗机构零售药店联网率', plan: { row: 3, item: '街道、社区、乡镇、定点医疗机构和零售药店' }, kind: 'expected', op: '>', value: 90 },
  dr: { id: 'dr-centers', title: 'Provincial disaster-recovery centers (with the ministry\'s own)', titleZh: '省级容灾中心建设比例', plan: { row: 4 }, kind: 'expected', op: '>=', value: 60 },
  staffCerts: { id: 'staff-certificates', title: 'Business staff using digital certificates', titleZh: '业务人员数字证书使用率', plan: { row: 5 }, kind: 'expected', op: '>', value: 70 },
  mlps3: { id: 'mlps3-certificates', title: 'Applications at MLPS level 3+ using digital certificates', titleZh: '三级以上应用系统使用数字证书', kind: 'expected', op: '>=', value: 100 },
  card: { id: 'social-security-card', title: 'Prefectures issuing the national social security card', titleZh: '发放全国统一社会保障卡的地市比例', plan: { row: 6 }, kind: 'binding', op: '>', value: 90 },
  cardHolders: { id: 'social-security-card-holders', title: 'People holding the social security card', titleZh: '社会保障卡持卡人数', plan: { row: 7 }, unit: '亿人', kind: 'binding', op: '>=', value: 8 },
  transfer: { id: 'cross-region-transfer', title: 'Prefectures on-line: cross-region transfer', titleZh: '异地转移系统地市入网率', plan: { row: 10, item: '异地转移系统' }, kind: 'expected', op: '>=', value: 100 },
  retiree: { id: 'cross-region-retiree', title: 'Prefectures on-line: cross-region retiree management', titleZh: '异地退管系统地市入网率', plan: { row: 10, item: '异地退管系统' }, kind: 'expected', op: '>=', value: 100 },
  medical: { id: 'cross-region-medical', title: 'Prefectures on-line: remote medical settlement', titleZh: '异地就医系统地市入网率', plan: { row: 10, item: '异地就医系统' }, kind: 'expected', op: '>=', value: 80 },
  ingestBusiness: { id: 'ingestion-business-exchange', title: 'Monitoring data ingestion: business exchange database', titleZh: '联网监测业务交换库数据入库率', plan: { row: 11, item: '业务交换库' }, kind: 'expected', op: '>', value: 90 },
  ingestFund: { id: 'ingestion-fund-financial', title: 'Monitoring data ingestion: fund financial exchange database', titleZh: '社会保险基金财务交换库数据入库率', plan: { row: 11, item: '基金财务交换库' }, kind: 'expected', op: '>=', value: 80 },
  personnelFiling: {
    id: 'ingestion-personnel-filing',
    title: 'Public personnel management and labour-employment filing data ingested',
    titleZh: '公共人事管理、劳动用工备案数据入库率',
    plan: { row: 12 },
    kind: 'expected',
    op: '>=',
    value: 70,
  },
} as const satisfies Record<string, Spec>;

/** Every indicator jinbao computes, in report order: the plan's table (专栏2) and the goal of its part 二 on level-3 applications. */
export const PLAN_INDICATORS: readonly Pick<Indicator, 'id' | 'title' | 'titleZh' | 'kind' | 'plan'>[] = Object.values(SPECS as Record<string, Spec>).map((s) => ({
  id: s.id,
  title: s.title,
  titleZh: s.titleZh,
  kind: s.kind,
  ...(s.plan ? { plan: s.plan } : {}),
}));

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function meets(spec: Spec, actual: number): boolean {
  return spec.op === '>' ? actual > spec.value : actual >= spec.value;
}

function ratio(spec: Spec, numerator: number, denominator: number, source = 'inventory'): Indicator {
  const actual = denominator === 0 ? 0 : round1((numerator / denominator) * 100);
  const exact = denominator === 0 ? 0 : (numerator / denominator) * 100;
  return base(spec, { status: denominator > 0 && meets(spec, exact) ? 'met' : 'not-met', actual, numerator, denominator, source });
}

/**
 * What an indicator may be missing, each with a stable code (the key of its translation in
 * compliance/locales `needs.<code>`) and its English text (`needs` in `--json`). Code that speaks
 * about a missing input looks it up here with `needsCode`, never by the text's wording.
 */
export const NEEDS = {
  drDrills: { code: 'dr-drills-against-real', text: 'DR drills against real pairs: a DR pairing counts once a drill with --target pg passed within 90 days; lab drills (pg-local) do not count (jinbao drill run --site SITE --target pg --pair FILE)' },
  productionPki: { code: 'certificates-from-a-production', text: 'certificates from a production PKI (jinbao pki init with --passphrase-env, then jinbao pki issue); the demo hierarchy jinbao up creates does not count' },
  staffCertificates: { code: 'staff-certificates-from-the', text: 'staff certificates from the PKI (jinbao pki issue)' },
  mlps3Certificates: { code: 'server-certificates-for-level', text: "server certificates for level-3 applications from the certificate service (jinbao serve: each site stack's cert-manager enrolls them over ACME)" },
  cardHolders: { code: 'card-holders-per-issuing', text: 'card holders per issuing site in the inventory (sites[].socialSecurityCardHolders)' },
  ingestionRates: { code: 'per-province-ingestion-rates', text: 'per-province ingestion rates in the inventory (sites[].ingestion)' },
  filingRates: { code: 'per-province-filing-ingestion', text: 'per-province filing ingestion rates in the inventory (sites[].ingestion.personnelFilingPct)' },
} as const satisfies Record<string, { readonly code: string; readonly text: string }>;

/** The code of an indicator's `needs` text, when it is one of NEEDS. */
export function needsCode(text: string): string | undefined {
  return Object.values(NEEDS).find((n) => n.text === text)?.code;
}

function needs(spec: Spec, what: { readonly text: string }, source: string): Indicator {
  return base(spec, { status: 'needs', needs: what.text, source });
}

function base(spec: Spec, rest: Omit<Indicator, 'id' | 'title' | 'titleZh' | 'kind' | 'plan' | 'unit' | 'target' | 'provenance'>): Indicator {
  return {
    id: spec.id,
    title: spec.title,
    titleZh: spec.titleZh,
    kind: spec.kind,
    ...(spec.plan ? { plan: spec.plan } : {}),
    unit: spec.unit ?? '%',
    target: { op: spec.op, value: spec.value },
    provenance: rest.source === 'pki' || rest.source.includes('drills') || /^pki; staff: rosters for \d+ site\(s\)$/.test(rest.source) ? 'observed' : 'declared',
    ...rest,
  };
}

/** Every indicator of the plan that jinbao knows, computed from the fabric and the given live facts. */
export function computeKpis(fabric: Fabric, live: LiveFacts = {}): Indicator[] {
  const provinces = fabric.byTier('province');
  const prefectures = fabric.byTier('prefecture');
  const count = <T>(xs: readonly T[], p: (x: T) => boolean) => xs.reduce((n, x) => n + (p(x) ? 1 : 0), 0);

  let metroTotal = 0;
  let metroConnected = 0;
  let platforms = 0;
  let platformsConnected = 0;
  let outlets = 0;
  let outletsConnected = 0;
  for (const s of fabric.sites) {
    metroTotal += s.serviceAgencies.total;
    metroConnected += s.serviceAgencies.connected;
    for (const a of s.accessPlatforms) {
      platforms += 1;
      if (a.connected) platformsConnected += 1;
      for (const k of OUTLET_KINDS) {
        outlets += a.outlets[k].total;
        outletsConnected += a.outlets[k].connected;
      }
    }
  }

  const withProgrammes = prefectures.filter((p) => p.programmes);
  const withIngestion = provinces.filter((p) => p.ingestion);
  const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

  const out: Indicator[] = [
    ratio(SPECS.dcProvince, count(provinces, (s) => s.dataCenter.meetsStandard), provinces.length),
    ratio(SPECS.dcPrefecture, count(prefectures, (s) => s.dataCenter.meetsStandard), prefectures.length),
    ratio(SPECS.backbone, count([...provinces, ...prefectures], (s) => s.backbone), provinces.length + prefectures.length),
    ratio(SPECS.metro, metroConnected, metroTotal),
    ratio(SPECS.county, platformsConnected, platforms),
    ratio(SPECS.grassroots, outletsConnected, outlets),
  ];

  if (live.recentPassedDrills) {
    const drilled = live.recentPassedDrills;
    const candidates = [fabric.ministry, ...provinces];
    out.push(ratio(SPECS.dr, count(candidates, (s) => s.dr !== undefined && drilled.has(s.id)), candidates.length, 'inventory + drills'));
  } else {
    out.push(
      needs(SPECS.dr, NEEDS.drDrills, 'drills'),
    );
  }

  const demoPki = NEEDS.productionPki;
  if (live.pkiProvenance === 'demo') {
    out.push(needs(SPECS.staffCerts, demoPki, 'pki'), needs(SPECS.mlps3, demoPki, 'pki'));
  } else {
    out.push(live.staffCertificates ? staffIndicator(fabric, live.staffCertificates, live.staffRosters) : needs(SPECS.staffCerts, NEEDS.staffCertificates, 'pki'));
    out.push(
      live.mlps3Applications
        ? ratio(SPECS.mlps3, live.mlps3Applications.withCertificates, live.mlps3Applications.total, 'pki')
        : needs(SPECS.mlps3, NEEDS.mlps3Certificates, 'pki'),
    );
  }

  out.push(ratio(SPECS.card, count(withProgrammes, (s) => s.programmes!.socialSecurityCard), prefectures.length));
  const cardSites = fabric.sites.filter((s) => s.socialSecurityCardHolders !== undefined);
  if (cardSites.length > 0) {
    const holders = cardSites.reduce((n, s) => n + s.socialSecurityCardHolders!, 0);
    const yi = holders / 1e8;
    out.push(base(SPECS.cardHolders, { status: meets(SPECS.cardHolders, yi) ? 'met' : 'not-met', actual: Math.round(yi * 100) / 100, numerator: holders, source: 'inventory (sum over sites)' }));
  } else {
    out.push(needs(SPECS.cardHolders, NEEDS.cardHolders, 'inventory'));
  }
  out.push(
    ratio(SPECS.transfer, count(withProgrammes, (s) => s.programmes!.crossRegionTransfer), prefectures.length),
    ratio(SPECS.retiree, count(withProgrammes, (s) => s.programmes!.crossRegionRetiree), prefectures.length),
    ratio(SPECS.medical, count(withProgrammes, (s) => s.programmes!.crossRegionMedical), prefectures.length),
  );
  if (withIngestion.length > 0) {
    out.push(
      meanIndicator(SPECS.ingestBusiness, mean(withIngestion.map((p) => p.ingestion!.businessExchangePct)), withIngestion.length),
      meanIndicator(SPECS.ingestFund, mean(withIngestion.map((p) => p.ingestion!.fundFinancialPct)), withIngestion.length),
    );
  } else {
    out.push(
      needs(SPECS.ingestBusiness, NEEDS.ingestionRates, 'inventory'),
      needs(SPECS.ingestFund, NEEDS.ingestionRates, 'inventory'),
    );
  }
  const filing = withIngestion.filter((p) => p.ingestion!.personnelFilingPct !== undefined);
  if (filing.length > 0) out.push(meanIndicator(SPECS.personnelFiling, mean(filing.map((p) => p.ingestion!.personnelFilingPct!)), filing.length));
  else out.push(needs(SPECS.personnelFiling, NEEDS.filingRates, 'inventory'));
  return out;
}

/** Where a site's staff figures come from: its HR roster, or the inventory's staff figure (sample figures in the built-in inventory). */
export type StaffSource = 'roster' | 'inventory' | 'inventory-sample';

/** The staff indicator at one site. */
export interface StaffSiteShare {
  readonly site: string;
  readonly name: string;
  readonly staff: number;
  readonly holders: number;
  /** Percent with one decimal; 0 for a site without staff. */
  readonly actual: number;
  readonly source: StaffSource;
}

/** The staff indicator of one province: its provincial site and its prefectures (the ministry is a row of its own). */
export interface StaffProvinceShare {
  /** The province's site id (the ministry's for the ministry). */
  readonly province: string;
  readonly name: string;
  readonly tier: 'ministry' | 'province';
  readonly staff: number;
  readonly holders: number;
  /** Percent with one decimal; 0 for a province without staff. */
  readonly actual: number;
  readonly status: 'met' | 'not-met';
  /** How many of its sites, staff and holders came from rosters, and from the inventory's figures. */
  readonly fromRoster: { readonly sites: number; readonly staff: number; readonly holders: number };
  readonly fromInventory: { readonly sites: number; readonly staff: number; readonly holders: number; readonly sample: boolean };
  readonly sites: readonly StaffSiteShare[];
}

/** The staff indicator per province, with the same target and the same per-site figures as the national one. */
export interface StaffBreakdown {
  readonly indicator: string;
  readonly target: Indicator['target'];
  readonly provinces: readonly StaffProvinceShare[];
}

/**
 * Each site's staff and holders. A site with a roster counts the people on it and those of them
 * with a valid certificate; any other site counts its certificate holders capped at the
 * inventory's staff figure (sample figures in the built-in inventory).
 */
function staffSites(fabric: Fabric, certs: ReadonlyMap<string, number>, rosters?: LiveFacts['staffRosters']): StaffSiteShare[] {
  return fabric.sites.map((s) => {
    const roster = rosters?.get(s.id);
    const staff = roster ? roster.people : s.staff.total;
    const holders = roster ? roster.holders : Math.min(s.staff.total, certs.get(s.id) ?? 0);
    return { site: s.id, name: s.name, staff, holders, actual: percent(holders, staff), source: roster ? 'roster' : fabric.sampleData ? 'inventory-sample' : 'inventory' };
  });
}

function percent(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : round1((numerator / denominator) * 100);
}

/** Staff holding a certificate over staff, summed over every site. The source says how many sites each way. */
function staffIndicator(fabric: Fabric, certs: ReadonlyMap<string, number>, rosters?: LiveFacts['staffRosters']): Indicator {
  const sites = staffSites(fabric, certs, rosters);
  const staff = sites.reduce((n, s) => n + s.staff, 0);
  const holders = sites.reduce((n, s) => n + s.holders, 0);
  const fromRoster = sites.filter((s) => s.source === 'roster').length;
  const fromInventory = sites.length - fromRoster;
  const source =
    fromRoster === 0
      ? 'pki'
      : `pki; staff: rosters for ${fromRoster} site(s)${fromInventory ? `, inventory ${fabric.sampleData ? 'sample ' : ''}figures for ${fromInventory}` : ''}`;
  return ratio(SPECS.staffCerts, holders, staff, source);
}

/**
 * The staff indicator per province (a province's own site and its prefectures; the ministry on a
 * row of its own), in inventory order, from the same per-site figures as the national indicator,
 * so the provinces add up to it. Undefined while the national indicator cannot be computed
 * (no staff certificates, or a demo hierarchy): it then says what it needs.
 */
export function staffByProvince(fabric: Fabric, live: LiveFacts = {}): StaffBreakdown | undefined {
  if (live.pkiProvenance === 'demo' || !live.staffCertificates) return undefined;
  const spec: Spec = SPECS.staffCerts;
  const byProvince = new Map<string, StaffSiteShare[]>();
  const sites = staffSites(fabric, live.staffCertificates, live.staffRosters);
  fabric.sites.forEach((s, i) => {
    const province = fabric.provinceOf(s).id;
    const list = byProvince.get(province);
    if (list) list.push(sites[i]!);
    else byProvince.set(province, [sites[i]!]);
  });
  const provinces = [...byProvince].map(([id, shares]): StaffProvinceShare => {
    const site = fabric.site(id);
    const sum = (xs: readonly StaffSiteShare[], k: 'staff' | 'holders') => xs.reduce((n, x) => n + x[k], 0);
    const roster = shares.filter((x) => x.source === 'roster');
    const inventory = shares.filter((x) => x.source !== 'roster');
    const staff = sum(shares, 'staff');
    const holders = sum(shares, 'holders');
    return {
      province: id,
      name: site.name,
      tier: site.tier === 'ministry' ? 'ministry' : 'province',
      staff,
      holders,
      actual: percent(holders, staff),
      status: staff > 0 && meets(spec, (holders / staff) * 100) ? 'met' : 'not-met',
      fromRoster: { sites: roster.length, staff: sum(roster, 'staff'), holders: sum(roster, 'holders') },
      fromInventory: { sites: inventory.length, staff: sum(inventory, 'staff'), holders: sum(inventory, 'holders'), sample: fabric.sampleData },
      sites: shares,
    };
  });
  return { indicator: spec.id, target: { op: spec.op, value: spec.value }, provinces };
}

function meanIndicator(spec: Spec, value: number, provinces: number): Indicator {
  return base(spec, { status: meets(spec, value) ? 'met' : 'not-met', actual: round1(value), denominator: provinces, source: 'inventory (mean over provinces)' });
}

export function formatTarget(i: Pick<Indicator, 'target' | 'unit'>): string {
  return `${i.target.op === '>' ? '>' : '≥'} ${formatFigure(i.target.value, i.unit)}`;
}

/** The measured figure with its unit ("91.7%", "7.62 亿人"), or "—" while it needs live state. */
export function formatActual(i: Pick<Indicator, 'actual' | 'unit'>): string {
  return i.actual === undefined ? '—' : formatFigure(i.actual, i.unit, true);
}

function formatFigure(value: number, unit: IndicatorUnit, measured = false): string {
  if (unit === '%') return `${measured ? value.toFixed(1) : value}%`;
  return `${measured ? value.toFixed(2) : value} ${unit}`;
}
