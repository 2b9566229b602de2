import type { Domain, Fabric, Site } from '../../fabric/index.js';
import { AcmeProblem } from './problems.js';

/**
 * Which DNS names a site's ACME accounts may request, from the inventory: the site's own zones,
 * `<slug>.jinbao.internal` and `<site id>.jinbao.internal`, and every name below them (wildcards
 * included). Another site's names, and names outside the fabric, are refused with
 * `rejectedIdentifier`: a prefecture cannot obtain a certificate for a province's servers.
 */

export const FABRIC_DNS_SUFFIX = 'jinbao.internal';

export function siteZones(site: Pick<Site, 'id' | 'slug'>): string[] {
  return [`${site.slug}.${FABRIC_DNS_SUFFIX}`, `${site.id}.${FABRIC_DNS_SUFFIX}`];
}

/** How `jinbao acme eab create` and the docs show a site's policy. */
export function allowedIdentifiers(site: Pick<Site, 'id' | 'slug'>): string[] {
  return siteZones(site).flatMap((z) => [z, `*.${z}`]);
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS identifier as ACME carries it: lowercase, no trailing dot, LDH labels, `*.` only as the first label. */
export function checkDnsIdentifier(value: unknown): { name: string; wildcard: boolean } {
  if (typeof value !== 'string' || value.length === 0 || value.length > 253) throw new AcmeProblem('malformed', `identifier value: got ${typeof value === 'string' ? `${value.length} characters` : typeof value}, want a DNS name of 1-253 characters`);
  const wildcard = value.startsWith('*.');
  const name = wildcard ? value.slice(2) : value;
  const labels = name.split('.');
  if (value !== value.toLowerCase() || labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
    throw new AcmeProblem('rejectedIdentifier', `identifier "${value.slice(0, 100)}": got a name that is not a lowercase fully-qualified DNS name, want letters, digits and "-" in dot-separated labels (a leading "*." for a wildcard)`);
  }
  return { name, wildcard };
}

/** Whether a site may have `value` (a checked DNS identifier). */
export function siteMayRequest(site: Pick<Site, 'id' | 'slug'>, value: string): boolean {
  const name = value.startsWith('*.') ? value.slice(2) : value;
  return siteZones(site).some((z) => name === z || name.endsWith(`.${z}`));
}

/** Refuse identifiers outside the site's zones, naming the site whose zone they are in when there is one. */
export function enforceSitePolicy(fabric: Fabric, siteId: string, values: readonly string[]): void {
  const site = fabric.findSite(siteId);
  if (!site) throw new AcmeProblem('unauthorized', `account site ${siteId}: got a site that is no longer in the inventory, want an account of an existing site`);
  const refused = values.filter((v) => !siteMayRequest(site, v));
  if (refused.length === 0) return;
  const owner = (v: string) => fabric.sites.find((s) => s.id !== site.id && siteMayRequest(s, v));
  const subproblems = refused.map((v) => {
    const other = owner(v);
    return {
      type: 'urn:ietf:params:acme:error:rejectedIdentifier',
      detail: `${v}: ${other ? `a name of site ${other.id}` : 'outside the fabric'}; site ${site.id} may request ${allowedIdentifiers(site).join(', ')}`,
      identifier: { type: 'dns', value: v },
    };
  });
  throw new AcmeProblem('rejectedIdentifier', `identifiers refused for site ${site.id}: ${refused.slice(0, 5).join(', ')}${refused.length > 5 ? ', …' : ''}; it may request ${allowedIdentifiers(site).join(', ')}`, { subproblems });
}

/**
 * The application an order's names belong to, for an account bound to the site only: every name is
 * `<domain>.<zone>` or below it, for one business domain the site hosts (the names the stacks give
 * each level-3 application's Certificate). Anything else (mixed domains, other names) is no
 * application, and the certificate counts for none.
 */
export function applicationOfNames(fabric: Fabric, siteId: string, values: readonly string[]): Domain | null {
  const site = fabric.findSite(siteId);
  if (!site || values.length === 0) return null;
  const zones = siteZones(site);
  const domainOf = (value: string): string | undefined => {
    const name = value.startsWith('*.') ? value.slice(2) : value;
    for (const z of zones) {
      if (!name.endsWith(`.${z}`)) continue;
      const labels = name.slice(0, -(z.length + 1)).split('.');
      return labels[labels.length - 1];
    }
    return undefined;
  };
  const found = new Set(values.map(domainOf));
  if (found.size !== 1) return null;
  const [only] = found;
  return fabric.domains(site).find((d) => d === only) ?? null;
}
