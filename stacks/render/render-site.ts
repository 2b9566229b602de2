import type { DcClass, Domain, Fabric, Site, SiteAllocation } from '../../fabric/index.js';
import { InputError } from '../../lib/errors.js';
import type { KubeObject, LimitRange, Namespace, ResourceQuota } from './kube-object.js';
import { inputError, translator } from '../../lib/i18n/index.js';
import { DC_CLASS_LABEL, DOMAIN_LABEL, MLPS_LABEL, REPLICA_OF_LABEL, SITE_NAME_ANNOTATION, siteLabels } from './labels.js';
import {
  acmeClusterIssuer,
  applicationCertificates,
  certificateService,
  servicePublicUrl,
  SERVICE_POD_LABELS,
  SERVICE_PORT,
  type CertificateServiceOptions,
} from './certificate-service.js';
import {
  allowCertificateService,
  allowDns,
  allowInterTierExchange,
  allowMonitoringScrape,
  allowReplication,
  allowSameNamespace,
  allowScrapeEgress,
  defaultDeny,
} from './network-policies.js';
import { adminGroup, auditBinding, clusterRoles, roleBinding, ROLES } from './rbac.js';
import { DEFAULT_SIZING, type NamespaceSizing } from './sizing.js';
import { checkTrustBundle, trustBundle } from './trust-bundle.js';
import { validateObjects } from './validate-objects.js';
import { STACKS_MESSAGES } from '../messages.js';

export interface RenderOptions {
  /** Public CA certificates (PEM) for the trust-bundle ConfigMap. @default [] (an annotated placeholder) */
  readonly trustBundle?: readonly string[];
  /** Per-namespace sizing by data-center class. @default DEFAULT_SIZING */
  readonly sizing?: Partial<Readonly<Record<DcClass, NamespaceSizing>>>;
  /** Prefix of every namespace name, for clusters shared by several sites. @default '' */
  readonly namespacePrefix?: string;
  /** Extra labels on every object (cost center, owner). @default {} */
  readonly extraLabels?: Readonly<Record<string, string>>;
  /** The certificate service cert-manager enrolls against (URL, EAB key ids, image). @default {} (see CertificateServiceOptions) */
  readonly certificateService?: CertificateServiceOptions;
}

/** The namespaces every site runs besides its business domains. */
export const PLATFORM_NAMESPACES = { pki: 'jinbao-pki', audit: 'jinbao-audit', monitoring: 'jinbao-monitoring' } as const;

type NamespaceRole =
  | { readonly kind: 'domain'; readonly domain: Domain }
  | { readonly kind: 'replica'; readonly domain: Domain; readonly of: Site }
  | { readonly kind: 'platform'; readonly name: keyof typeof PLATFORM_NAMESPACES };

/**
 * Everything a site's standardized data center is made of, derived from the fabric only.
 * Pure: the same fabric, site, allocations and options always give the same objects, in the same
 * order. Throws InputError naming site, object and field when an object would be invalid.
 */
export function renderSite(fabric: Fabric, site: Site, allocations: ReadonlyMap<string, SiteAllocation>, options: RenderOptions = {}): KubeObject[] {
  const pems = options.trustBundle ?? [];
  checkTrustBundle(pems);
  const prefix = options.namespacePrefix ?? '';
  const sizing = options.sizing?.[site.dataCenter.class] ?? DEFAULT_SIZING[site.dataCenter.class];
  const base = { ...options.extraLabels, ...siteLabels(site) };
  const nsName = (name: string) => `${prefix}${name}`;
  const monitoringNamespace = nsName(PLATFORM_NAMESPACES.monitoring);

  const cidrsOf = (s: Site): string[] => {
    const a = allocations.get(s.id);
    if (!a) throw inputError(STACKS_MESSAGES, 'render.noAllocation', { site: site.id, of: s.id });
    return a.dr ? [a.dc, a.dr] : [a.dc];
  };
  const parent = fabric.parentOf(site);
  const exchangePeers = [...(parent ? [parent] : []), ...fabric.children(site)].flatMap(cidrsOf);

  const namespaces: { name: string; role: NamespaceRole }[] = [
    ...fabric.domains(site).map((domain) => ({ name: nsName(domain), role: { kind: 'domain', domain } as const })),
    ...fabric.drProtectedBy(site).flatMap((of) =>
      fabric.domains(of).map((domain) => ({ name: nsName(`dr-${of.id}-${domain}`), role: { kind: 'replica', domain, of } as const })),
    ),
    ...(Object.keys(PLATFORM_NAMESPACES) as (keyof typeof PLATFORM_NAMESPACES)[]).map((name) => ({
      name: nsName(PLATFORM_NAMESPACES[name]),
      role: { kind: 'platform', name } as const,
    })),
  ];

  const publicUrl = servicePublicUrl(fabric, options.certificateService);
  const objects: KubeObject[] = [...clusterRoles(base), auditBinding(site.id, base)];
  objects.push(acmeClusterIssuer(site, base, publicUrl, pems, options.certificateService?.eabKeyIds?.[site.id]));
  for (const { name, role } of namespaces) {
    objects.push(namespace(site, fabric.parentOf(site), name, role, base));
    objects.push(...quotaAndLimits(name, sizing, base));
    objects.push(trustBundle(name, base, pems));
    const ctx = { namespace: name, labels: base, monitoringNamespace };
    objects.push(defaultDeny(ctx), allowDns(ctx), allowSameNamespace(ctx));
    if (role.kind === 'platform' && role.name === 'monitoring') objects.push(allowScrapeEgress(ctx));
    else objects.push(allowMonitoringScrape(ctx));
    if (role.kind === 'domain' && role.domain === 'exchange' && exchangePeers.length > 0) objects.push(allowInterTierExchange(ctx, exchangePeers));
    if (role.kind === 'replica') objects.push(allowReplication(ctx, cidrsOf(role.of)));
    if (role.kind === 'platform' && role.name === 'pki') {
      objects.push(roleBinding(name, 'jinbao-pki-admins', ROLES.pki, adminGroup(site.id, 'security'), base));
    } else if (!(role.kind === 'platform' && role.name === 'audit')) {
      objects.push(roleBinding(name, 'jinbao-system-admins', ROLES.system, adminGroup(site.id, 'system'), base));
    }
    objects.push(roleBinding(name, 'jinbao-security-admins', ROLES.secrets, adminGroup(site.id, 'security'), base));
    if (role.kind === 'platform' && role.name === 'pki' && site.tier === 'ministry') {
      objects.push(allowCertificateService(ctx, SERVICE_POD_LABELS, fabric.inventory.addressing.overlay, SERVICE_PORT));
      objects.push(...certificateService(name, base, publicUrl, options.certificateService?.image ?? 'jinbao:0.1.0'));
    }
  }
  objects.push(...applicationCertificates(fabric, site, base, (domain) => nsName(domain)));
  validateObjects(site.id, objects);
  return objects;
}

/**
 * What a person reads about the site on its namespaces: label values are restricted to ASCII
 * ([a-z0-9A-Z-_.], 63 characters), annotation values are not, so the Chinese names go here, exactly as
 * the inventory gives them; the pinyin slug stays for names and hostnames.
 */
function siteAnnotations(site: Site, parent: Site | undefined, role: NamespaceRole): Record<string, string> {
  return {
    [SITE_NAME_ANNOTATION]: site.name,
    'jinbao.io/site-slug': site.slug,
    'jinbao.io/tier-name': translator('zh-CN')(`tier.${site.tier}`),
    ...(parent ? { 'jinbao.io/parent-name': parent.name } : {}),
    ...(role.kind === 'replica' ? { 'jinbao.io/replica-of-name': role.of.name } : {}),
  };
}

function namespace(site: Site, parent: Site | undefined, name: string, role: NamespaceRole, base: Readonly<Record<string, string>>): Namespace {
  const labels: Record<string, string> = {
    ...base,
    [MLPS_LABEL]: String(site.mlpsLevel),
    [DC_CLASS_LABEL]: site.dataCenter.class,
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'latest',
    'pod-security.kubernetes.io/audit': 'restricted',
    'pod-security.kubernetes.io/warn': 'restricted',
  };
  if (role.kind !== 'platform') labels[DOMAIN_LABEL] = role.domain;
  else labels[DOMAIN_LABEL] = `platform-${role.name}`;
  if (role.kind === 'replica') labels[REPLICA_OF_LABEL] = role.of.id;
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations: siteAnnotations(site, parent, role) } };
}

function quotaAndLimits(namespace: string, sizing: NamespaceSizing, labels: Readonly<Record<string, string>>): [ResourceQuota, LimitRange] {
  return [
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'jinbao-quota', namespace, labels }, spec: { hard: sizing.quota } },
    {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'jinbao-limits', namespace, labels },
      spec: { limits: [{ type: 'Container', default: sizing.containerDefault, defaultRequest: sizing.containerDefaultRequest, max: sizing.containerMax }] },
    },
  ];
}
