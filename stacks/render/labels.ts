import type { Site } from '../../fabric/index.js';
import type { Labels } from './kube-object.js';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const SITE_LABEL = 'jinbao.io/site';
export const TIER_LABEL = 'jinbao.io/tier';
export const DOMAIN_LABEL = 'jinbao.io/domain';
export const MLPS_LABEL = 'jinbao.io/mlps-level';
export const DC_CLASS_LABEL = 'jinbao.io/dc-class';
export const REPLICA_OF_LABEL = 'jinbao.io/replica-of';
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/** The site's name as the inventory gives it (Chinese): an annotation, since label values are ASCII only. */
export const SITE_NAME_ANNOTATION = 'jinbao.io/site-name';

/** The labels every object of a site carries: what `apply --prune` selects on. */
export function siteLabels(site: Site): Labels {
  return { [MANAGED_BY]: 'jinbao', [SITE_LABEL]: site.id, [TIER_LABEL]: site.tier };
}

/** The label selector (`key=value,...`) that finds every object jinbao manages for a site. */
export function siteSelector(siteId: string): string {
  return `${MANAGED_BY}=jinbao,${SITE_LABEL}=${siteId}`;
}
