import { validateInventory, type Fabric, type InventoryInput } from '../../fabric/index.js';

type SiteInput = InventoryInput['sites'][number];
const outlets = { street: { total: 2, connected: 2 }, community: { total: 10, connected: 9 }, township: { total: 4, connected: 4 }, hospital: { total: 3, connected: 3 }, pharmacy: { total: 5, connected: 4 } };

function site(id: string, tier: SiteInput['tier'], over: Partial<SiteInput> = {}): SiteInput {
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

const agency = (code: string) => ({ code, name: `county ${code}`, connected: true, outlets: structuredClone(outlets) });

/** Ministry (DR in 440000), Guangdong (DR in 440300) with two prefectures and counties, Beijing with counties under the province. */
export function smallInput(): InventoryInput {
  return {
    apiVersion: 'jinbao/v1',
    kind: 'Inventory',
    metadata: { name: 'wan-small' },
    sites: [
      site('000000', 'ministry', { dr: { site: '440000' } }),
      site('110000', 'province', { accessPlatforms: [agency('110101')] }),
      site('440000', 'province', { dr: { site: '440300' } }),
      site('440100', 'prefecture', { accessPlatforms: [agency('440103'), agency('440104')] }),
      site('440300', 'prefecture', { accessPlatforms: [agency('440303')] }),
    ],
  };
}

export function smallFabric(input: InventoryInput = smallInput()): Fabric {
  const loaded = validateInventory(input, 'test');
  if (!loaded.fabric) throw new Error(JSON.stringify(loaded.problems));
  return loaded.fabric;
}
