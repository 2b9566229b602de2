import type { InventoryInput } from '../model.js';

type SiteInput = InventoryInput['sites'][number];

const outlets = { street: { total: 2, connected: 2 }, community: { total: 10, connected: 9 }, township: { total: 4, connected: 4 }, hospital: { total: 3, connected: 3 }, pharmacy: { total: 5, connected: 4 } };

/** A small valid site of the given tier; override any field. */
export function site(id: string, tier: SiteInput['tier'], over: Partial<SiteInput> = {}): SiteInput {
  return {
    id,
    tier,
    name: `site ${id}`,
    slug: `s${id}`,
    ...(tier === 'ministry' ? {} : { parent: tier === 'province' ? '000000' : `${id.slice(0, 2)}0000` }),
    dataCenter: { class: 'B', meetsStandard: true },
    staff: { total: 100, requiringCertificates: 80 },
    backbone: true,
    serviceAgencies: { total: 10, connected: 10 },
    accessPlatforms: [],
    ...over,
  };
}

export function agency(code: string, connected = true) {
  return { code, name: `county ${code}`, connected, outlets: structuredClone(outlets) };
}

/** Ministry, two provinces (one a municipality), three prefectures with counties. */
export function smallInventory(): InventoryInput {
  return {
    apiVersion: 'jinbao/v1',
    kind: 'Inventory',
    metadata: { name: 'small' },
    sites: [
      site('000000', 'ministry', { dr: { site: '440000' } }),
      site('110000', 'province', { accessPlatforms: [agency('110101'), agency('110102', false)] }),
      site('440000', 'province', { dr: { site: '440300' }, ingestion: { businessExchangePct: 95, fundFinancialPct: 79 } }),
      site('440100', 'prefecture', {
        accessPlatforms: [agency('440103'), agency('440104')],
        programmes: { socialSecurityCard: true, crossRegionTransfer: true, crossRegionRetiree: true, crossRegionMedical: false },
      }),
      site('440300', 'prefecture', {
        accessPlatforms: [agency('440303')],
        programmes: { socialSecurityCard: true, crossRegionTransfer: true, crossRegionRetiree: false, crossRegionMedical: true },
      }),
    ],
  };
}
