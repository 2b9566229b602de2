import { describe, expect, it } from 'vitest';
import { computeKpis, formatActual, formatTarget, staffByProvince, type Indicator } from '../kpi.js';
import { builtInInventory, validateInventory } from '../load.js';
import { smallInventory } from './builders.js';

function fabricOf(inv = smallInventory()) {
  const r = validateInventory(inv, 'test');
  if (!r.fabric) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.fabric;
}

const byId = (list: Indicator[], id: string) => list.find((k) => k.id === id)!;

describe('the plan\'s indicators', () => {
  it('GIVEN the small inventory THEN coverage figures are computed from it', () => {
    const kpis = computeKpis(fabricOf());
    // 5 of 5 access platforms... one of the two under 110000 is disconnected
    expect(byId(kpis, 'county-platforms')).toMatchObject({ numerator: 4, denominator: 5, actual: 80, status: 'not-met', kind: 'expected' });
    // each platform: 24 outlets, 22 connected
    expect(byId(kpis, 'grassroots-outlets')).toMatchObject({ numerator: 110, denominator: 120, actual: 91.7, status: 'met' });
    expect(byId(kpis, 'dc-standard-prefecture')).toMatchObject({ actual: 100, status: 'met', kind: 'binding' });
    expect(byId(kpis, 'cross-region-medical')).toMatchObject({ numerator: 1, denominator: 2, actual: 50, status: 'not-met' });
    expect(byId(kpis, 'ingestion-fund-financial')).toMatchObject({ actual: 79, status: 'not-met' });
    expect(byId(kpis, 'ingestion-business-exchange')).toMatchObject({ actual: 95, status: 'met' });
  });

  it('GIVEN exactly 90% of outlets connected THEN the strict "> 90%" target is not met', () => {
    const inv = smallInventory();
    for (const s of inv.sites)
      for (const a of s.accessPlatforms ?? [])
        a.outlets = { street: { total: 10, connected: 9 }, community: { total: 10, connected: 9 }, township: { total: 10, connected: 9 }, hospital: { total: 10, connected: 9 }, pharmacy: { total: 10, connected: 9 } };
    expect(byId(computeKpis(fabricOf(inv)), 'grassroots-outlets')).toMatchObject({ actual: 90, status: 'not-met' });
  });

  it('GIVEN no live state THEN certificate and DR indicators say what they need', () => {
    const kpis = computeKpis(fabricOf());
    for (const id of ['dr-centers', 'staff-certificates', 'mlps3-certificates']) {
      expect(byId(kpis, id).status).toBe('needs');
      expect(byId(kpis, id).needs).toMatch(/jinbao (pki|drill|serve)/);
      expect(byId(kpis, id).actual).toBeUndefined();
    }
    expect(byId(kpis, 'mlps3-certificates').needs).toBe(
      "server certificates for level-3 applications from the certificate service (jinbao serve: each site stack's cert-manager enrolls them over ACME)",
    );
  });

  it('GIVEN service-issued application certificates on the demo hierarchy THEN they prove nothing and the indicator needs a production PKI', () => {
    const kpis = computeKpis(fabricOf(), { mlps3Applications: { total: 10, withCertificates: 10 }, pkiProvenance: 'demo' });
    expect(byId(kpis, 'mlps3-certificates')).toMatchObject({ status: 'needs', source: 'pki' });
    expect(byId(kpis, 'mlps3-certificates').needs).toMatch(/the demo hierarchy jinbao up creates does not count$/);
    expect(byId(kpis, 'mlps3-certificates').actual).toBeUndefined();
  });

  it('GIVEN some applications with certificates from the service THEN the ratio is those over every level-3 application', () => {
    const kpis = computeKpis(fabricOf(), { mlps3Applications: { total: 8, withCertificates: 2 }, pkiProvenance: 'production' });
    expect(byId(kpis, 'mlps3-certificates')).toMatchObject({ numerator: 2, denominator: 8, actual: 25, status: 'not-met', source: 'pki' });
  });

  it('GIVEN live facts THEN the live indicators are computed', () => {
    const kpis = computeKpis(fabricOf(), {
      staffCertificates: new Map([['000000', 100], ['440000', 90], ['440100', 500]]),
      recentPassedDrills: new Set(['000000', '440000', '110000']),
      mlps3Applications: { total: 10, withCertificates: 10 },
    });
    // staff 5×100; holders capped at each site's staff: 100 + 90 + 100
    expect(byId(kpis, 'staff-certificates')).toMatchObject({ numerator: 290, denominator: 500, actual: 58, status: 'not-met' });
    // ministry + 2 provinces; 110000 has no DR pairing so its drill does not count
    expect(byId(kpis, 'dr-centers')).toMatchObject({ numerator: 2, denominator: 3, actual: 66.7, status: 'met' });
    expect(byId(kpis, 'mlps3-certificates')).toMatchObject({ actual: 100, status: 'met' });
  });

  it('GIVEN staff certificates and a roster THEN the staff indicator per province adds its own site and its prefectures, says where each figure came from, and sums to the national one', () => {
    const fabric = fabricOf();
    const live = {
      staffCertificates: new Map([['000000', 100], ['110000', 70], ['440000', 90], ['440100', 500]]),
      staffRosters: new Map([['440300', { people: 50, holders: 40 }]]),
      pkiProvenance: 'production' as const,
    };
    const b = staffByProvince(fabric, live)!;
    const sample = fabric.sampleData;
    expect(b.indicator).toBe('staff-certificates');
    expect(b.target).toEqual({ op: '>', value: 70 });
    expect(b.provinces.map((p) => [p.province, p.tier, p.staff, p.holders, p.actual, p.status])).toEqual([
      ['000000', 'ministry', 100, 100, 100, 'met'],
      // exactly 70% is not more than 70%
      ['110000', 'province', 100, 70, 70, 'not-met'],
      // 440000 (100, 90) + 440100 (100, capped at 100) + 440300 from its roster (50, 40)
      ['440000', 'province', 250, 230, 92, 'met'],
    ]);
    const gd = b.provinces[2]!;
    expect(gd.fromRoster).toEqual({ sites: 1, staff: 50, holders: 40 });
    expect(gd.fromInventory).toEqual({ sites: 2, staff: 200, holders: 190, sample });
    expect(gd.sites.map((s) => [s.site, s.staff, s.holders, s.actual, s.source])).toEqual([
      ['440000', 100, 90, 90, sample ? 'inventory-sample' : 'inventory'],
      ['440100', 100, 100, 100, sample ? 'inventory-sample' : 'inventory'],
      ['440300', 50, 40, 80, 'roster'],
    ]);
    const national = byId(computeKpis(fabric, live), 'staff-certificates');
    expect(b.provinces.reduce((n, p) => n + p.staff, 0)).toBe(national.denominator);
    expect(b.provinces.reduce((n, p) => n + p.holders, 0)).toBe(national.numerator);
  });

  it('GIVEN no staff certificates, or a demo hierarchy, THEN there is no per-province figure (the indicator says what it needs)', () => {
    expect(staffByProvince(fabricOf(), {})).toBeUndefined();
    expect(staffByProvince(fabricOf(), { staffCertificates: new Map([['440000', 90]]), pkiProvenance: 'demo' })).toBeUndefined();
  });

  it('lists every indicator of the plan\'s table', () => {
    expect(computeKpis(fabricOf()).map((k) => k.id)).toEqual([
      'dc-standard-province',
      'dc-standard-prefecture',
      'backbone-coverage',
      'metro-coverage',
      'county-platforms',
      'grassroots-outlets',
      'dr-centers',
      'staff-certificates',
      'mlps3-certificates',
      'social-security-card',
      'social-security-card-holders',
      'cross-region-transfer',
      'cross-region-retiree',
      'cross-region-medical',
      'ingestion-business-exchange',
      'ingestion-fund-financial',
      'ingestion-personnel-filing',
    ]);
  });

  it('GIVEN card holders per issuing site THEN their sum is compared with the plan\'s 8 亿 people', () => {
    const inv = smallInventory();
    inv.sites[1]!.socialSecurityCardHolders = 500_000_000;
    inv.sites[3]!.socialSecurityCardHolders = 250_000_000;
    inv.sites[4]!.socialSecurityCardHolders = 40_000_000;
    const holders = byId(computeKpis(fabricOf(inv)), 'social-security-card-holders');
    expect(holders).toMatchObject({ unit: '亿人', target: { op: '>=', value: 8 }, actual: 7.9, numerator: 790_000_000, status: 'not-met', kind: 'binding', plan: { row: 7 } });
    expect(formatActual(holders)).toBe('7.90 亿人');
    expect(formatTarget(holders)).toBe('≥ 8 亿人');
    inv.sites[4]!.socialSecurityCardHolders = 50_000_000;
    expect(byId(computeKpis(fabricOf(inv)), 'social-security-card-holders')).toMatchObject({ actual: 8, status: 'met' });
  });

  it('GIVEN no card holders or filing rates in the inventory THEN those indicators say which field they need', () => {
    const kpis = computeKpis(fabricOf());
    expect(byId(kpis, 'social-security-card-holders')).toMatchObject({
      status: 'needs',
      needs: 'card holders per issuing site in the inventory (sites[].socialSecurityCardHolders)',
    });
    expect(byId(kpis, 'ingestion-personnel-filing')).toMatchObject({
      status: 'needs',
      needs: 'per-province filing ingestion rates in the inventory (sites[].ingestion.personnelFilingPct)',
    });
  });

  it('GIVEN filing ingestion rates of the provinces THEN their mean is compared with 70%', () => {
    const inv = smallInventory();
    inv.sites[2]!.ingestion = { businessExchangePct: 95, fundFinancialPct: 79, personnelFilingPct: 69.9 };
    expect(byId(computeKpis(fabricOf(inv)), 'ingestion-personnel-filing')).toMatchObject({ actual: 69.9, denominator: 1, status: 'not-met', kind: 'expected', plan: { row: 12 } });
  });

  it('GIVEN card holders on the ministry THEN the inventory is refused with the value and where they belong', () => {
    const inv = smallInventory();
    inv.sites[0]!.socialSecurityCardHolders = 10;
    expect(validateInventory(inv, 'test').problems.map((p) => p.message)).toEqual([
      'got 10 on the ministry, but cards are issued by prefectures and provinces; move the figure to them',
    ]);
  });

  it('GIVEN the built-in inventory THEN both new indicators are computed from its sample figures, which it labels as sample', () => {
    const fabric = validateInventory(builtInInventory(), 'built-in').fabric!;
    expect(fabric.sampleData).toBe(true);
    expect(fabric.inventory.metadata.notes.join(' ')).toMatch(/SAMPLE DATA: .*social security card holders and ingestion rates/);
    const kpis = computeKpis(fabric);
    expect(byId(kpis, 'social-security-card-holders').status).not.toBe('needs');
    expect(byId(kpis, 'ingestion-personnel-filing').denominator).toBe(fabric.byTier('province').length);
  });
});
