import type { Domain, Site } from './model.js';

/**
 * The four municipalities directly under the central government: like the large-area /
 * few-insured provinces, they centralize every business domain at province level.
 */
export const MUNICIPALITIES: ReadonlySet<string> = new Set(['110000', '120000', '310000', '500000']);

/** The domains each tier holds under the plan's placement (seed §三(一)1). */
const PREFECTURE_DOMAINS: readonly Domain[] = ['employee-insurance'];
const PROVINCE_DOMAINS: readonly Domain[] = [
  'employment',
  'resident-insurance',
  'personnel',
  'labor-relations',
  'cross-region',
];
const MINISTRY_DOMAINS: readonly Domain[] = ['cross-region', 'national-query', 'basic-pension'];

export function isCentralized(site: Pick<Site, 'id' | 'tier' | 'centralized'>): boolean {
  return site.tier === 'province' && (MUNICIPALITIES.has(site.id) || site.centralized === true);
}

/**
 * Which business domains a site hosts.
 *
 * - prefecture: historical urban-employee social-insurance data, unless its province centralizes;
 * - province: employment & talent services, resident insurance, personnel, labor relations and
 *   cross-region data; a centralizing province also takes the prefectures' employee insurance;
 * - ministry: cross-region data, the nationwide query service and the national basic-pension pool;
 * - every site runs the `exchange` domain, the system-integration platform through which the three
 *   tiers exchange data in both directions.
 *
 * An explicit `domains` list on the site overrides the policy.
 */
export function domainsFor(site: Site, parent: Site | undefined): Domain[] {
  if (site.domains) return uniqueWithExchange(site.domains);
  switch (site.tier) {
    case 'ministry':
      return uniqueWithExchange(MINISTRY_DOMAINS);
    case 'province':
      return uniqueWithExchange(isCentralized(site) ? [...PREFECTURE_DOMAINS, ...PROVINCE_DOMAINS] : PROVINCE_DOMAINS);
    case 'prefecture':
      return uniqueWithExchange(parent && isCentralized(parent) ? [] : PREFECTURE_DOMAINS);
  }
}

function uniqueWithExchange(domains: readonly Domain[]): Domain[] {
  return [...new Set<Domain>([...domains, 'exchange'])];
}
