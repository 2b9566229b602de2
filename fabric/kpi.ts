import { OUTLET_KINDS } from './model.js';
import type { Fabric } from './fabric.js';

/** The plan's targets (专栏2, 2015), computed from the inventory and, where needed, live state. */
export type IndicatorKind = 'binding' | 'expected';
export type IndicatorStatus = 'met' | 'not-met' | 'needs';

export interface Indicator {
  readonly id: string;
  readonly title: string;
  readonly titleZh: string;
  readonly kind: IndicatorKind;
  readonly target: { readonly op: '>=' | '>'; readonly percent: number };
  readonly status: IndicatorStatus;
  /** Percent, one decimal; absent while the indicator needs live state. */
  readonly actual?: number;
  readonly numerator?: number;
  readonly denominator?: number;
  /** Where the figure comes from ("inventory", "pki", "drills", ...). */
  readonly source: string;
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
  /** Level-3 applications with a valid certificate, out of all level-3 applications (pki). */
  readonly mlps3Applications?: { readonly total: number; readonly withCertificates: number };
  /** Sites with a passed DR drill within the last 90 days (dr-runbooks). */
  readonly recentPassedDrills?: ReadonlySet<string>;
}

interface Spec {
  id: string;
  title: string;
  titleZh: string;
  kind: IndicatorKind;
  op: '>=' | '>';
  percent: number;
}

const SPECS = {
  dcProvince: { id: 'dc-standard-province', title: 'Province data centers meeting the national standard', titleZh: '省级统一数据中心建成率', kind: 'binding', op: '>=', percent: 100 },
  dcPrefecture: { id: 'dc-standard-prefecture', title: 'Prefecture data centers meeting the national standard', titleZh: '地市统一数据中心建成率', kind: 'binding', op: '>=', percent: 100 },
  backbone: { id: 'backbone-coverage', title: 'Province and prefecture backbone network coverage', titleZh: '省市主干网络覆盖率', kind: 'binding', op: '>=', percent: 100 },
  metro: { id: 'metro-coverage', title: 'Metro network coverage of HR/SS agencies', titleZh: '城域网覆盖管理服务机构', kind: 'expected', op: '>=', percent: 100 },
  county: { id: 'county-platforms', title: 'County access platforms connected', titleZh: '县级网络接入平台联网率', kind: 'expected', op: '>=', percent: 95 },
  grassroots: { id: 'grassroots-outlets', title: 'Streets, communities, townships, designated hospitals and retail pharmacies connected', titleZh: '街道社区乡镇定点医疗机构零售药店联网率', kind: 'expected', op: '>', percent: 90 },
  dr: { id: 'dr-centers', title: 'Provincial disaster-recovery centers (with the ministry\'s own)', titleZh: '省级容灾中心建设比例', kind: 'expected', op: '>=', percent: 60 },
  staffCerts: { id: 'staff-certificates', title: 'Business staff using digital certificates', titleZh: '业务人员数字证书使用率', kind: 'expected', op: '>', percent: 70 },
  mlps3: { id: 'mlps3-certificates', title: 'Applications at MLPS level 3+ using digital certificates', titleZh: '三级以上应用系统使用数字证书', kind: 'expected', op: '>=', percent: 100 },
  card: { id: 'social-security-card', title: 'Prefectures issuing the national social security card', titleZh: '发放全国统一社会保障卡的地市比例', kind: 'binding', op: '>', percent: 90 },
  transfer: { id: 'cross-region-transfer', title: 'Prefectures on-line: cross-region transfer', titleZh: '异地转移系统地市入网率', kind: 'expected', op: '>=', percent: 100 },
  retiree: { id: 'cross-region-retiree', title: 'Prefectures on-line: cross-region retiree management', titleZh: '异地退管系统地市入网率', kind: 'expected', op: '>=', percent: 100 },
  medical: { id: 'cross-region-medical', title: 'Prefectures on-line: remote medical settlement', titleZh: '异地就医系统地市入网率', kind: 'expected', op: '>=', percent: 80 },
  ingestBusiness: { id: 'ingestion-business-exchange', title: 'Monitoring data ingestion: business exchange database', titleZh: '联网监测业务交换库数据入库率', kind: 'expected', op: '>', percent: 90 },
  ingestFund: { id: 'ingestion-fund-financial', title: 'Monitoring data ingestion: fund financial exchange database', titleZh: '社会保险基金财务交换库数据入库率', kind: 'expected', op: '>=', percent: 80 },
} as const satisfies Record<string, Spec>;

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function meets(spec: Spec, actual: number): boolean {
  return spec.op === '>' ? actual > spec.percent : actual >= spec.percent;
}

function ratio(spec: Spec, numerator: number, denominator: number, source = 'inventory'): Indicator {
  const actual = denominator === 0 ? 0 : round1((numerator / denominator) * 100);
  const exact = denominator === 0 ? 0 : (numerator / denominator) * 100;
  return base(spec, { status: denominator > 0 && meets(spec, exact) ? 'met' : 'not-met', actual, numerator, denominator, source });
}

function needs(spec: Spec, what: string, source: string): Indicator {
  return base(spec, { status: 'needs', needs: what, source });
}

function base(spec: Spec, rest: Omit<Indicator, 'id' | 'title' | 'titleZh' | 'kind' | 'target'>): Indicator {
  return { id: spec.id, title: spec.title, titleZh: spec.titleZh, kind: spec.kind, target: { op: spec.op, percent: spec.percent }, ...rest };
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
    out.push(needs(SPECS.dr, 'DR drill history: a DR pairing counts once a drill passed within 90 days (jinbao drill run)', 'drills'));
  }

  if (live.staffCertificates) {
    const certs = live.staffCertificates;
    let staff = 0;
    let holders = 0;
    for (const s of fabric.sites) {
      staff += s.staff.total;
      holders += Math.min(s.staff.total, certs.get(s.id) ?? 0);
    }
    out.push(ratio(SPECS.staffCerts, holders, staff, 'pki'));
  } else {
    out.push(needs(SPECS.staffCerts, 'staff certificates from the PKI (jinbao pki issue)', 'pki'));
  }
  if (live.mlps3Applications) {
    out.push(ratio(SPECS.mlps3, live.mlps3Applications.withCertificates, live.mlps3Applications.total, 'pki'));
  } else {
    out.push(needs(SPECS.mlps3, 'server certificates for level-3 applications from the PKI (jinbao pki issue)', 'pki'));
  }

  out.push(
    ratio(SPECS.card, count(withProgrammes, (s) => s.programmes!.socialSecurityCard), prefectures.length),
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
      needs(SPECS.ingestBusiness, 'per-province ingestion rates in the inventory (sites[].ingestion)', 'inventory'),
      needs(SPECS.ingestFund, 'per-province ingestion rates in the inventory (sites[].ingestion)', 'inventory'),
    );
  }
  return out;
}

function meanIndicator(spec: Spec, value: number, provinces: number): Indicator {
  return base(spec, { status: meets(spec, value) ? 'met' : 'not-met', actual: round1(value), denominator: provinces, source: 'inventory (mean over provinces)' });
}

export function formatTarget(i: Pick<Indicator, 'target'>): string {
  return `${i.target.op === '>' ? '>' : '≥'} ${i.target.percent}%`;
}
