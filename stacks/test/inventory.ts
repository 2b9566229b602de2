import { Fabric, inventorySchema, type InventoryInput } from '../../fabric/index.js';

type SiteInput = InventoryInput['sites'][number];
const outlets = { street: { total: 1, connected: 1 }, community: { total: 1, connected: 1 }, township: { total: 1, connected: 1 }, hospital: { total: 1, connected: 1 }, pharmacy: { total: 1, connected: 1 } };

export function site(id: string, tier: SiteInput['tier'], over: Partial<SiteInput> = {}): SiteInput {
  return {
    id,
    tier,
    name: `测试 ${id}`,
    slug: `s${id}`,
    ...(tier === 'ministry' ? {} : { parent: tier === 'province' ? '000000' : `${id.slice(0, 2)}0000` }),
    dataCenter: { class: 'B', meetsStandard: true },
    staff: { total: 10, requiringCertificates: 8 },
    backbone: true,
    serviceAgencies: { total: 1, connected: 1 },
    accessPlatforms: [{ code: `${id.slice(0, 4)}01`, name: 'county', connected: true, outlets }],
    ...over,
  };
}

/**
 * The ministry (DR center at 610000), an ordinary province with two prefectures (440300 hosts
 * 440000's DR center), a municipality, and 610000 with one prefecture.
 */
export function smallInventory(): InventoryInput {
  return {
    apiVersion: 'jinbao/v1',
    kind: 'Inventory',
    metadata: { name: 'stacks-test' },
    sites: [
      site('000000', 'ministry', { dataCenter: { class: 'A', meetsStandard: true }, dr: { site: '610000' } }),
      site('110000', 'province', { dataCenter: { class: 'A', meetsStandard: true } }),
      site('440000', 'province', { dr: { site: '440300' } }),
      site('440100', 'prefecture', { dataCenter: { class: 'C', meetsStandard: true } }),
      site('440300', 'prefecture'),
      site('610000', 'province'),
      site('610100', 'prefecture'),
    ],
  };
}

export function buildFabric(input: InventoryInput = smallInventory()): Fabric {
  const { fabric, problems } = Fabric.build(inventorySchema.parse(input));
  if (!fabric) throw new Error(problems.map((p) => p.message).join('; '));
  return fabric;
}
