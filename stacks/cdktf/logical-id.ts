import type { KubeObject } from '../render/index.js';

/**
 * A stable, unique construct id for an object: `<kind>_<namespace>_<name>` in snake case. Terraform
 * addresses read `kubernetes_network_policy_v1.networkpolicy_exchange_default-deny`.
 */
export function logicalId(o: KubeObject): string {
  return [o.kind.toLowerCase(), o.metadata.namespace, o.metadata.name]
    .filter((p): p is string => p !== undefined)
    .join('_')
    .replace(/[^A-Za-z0-9_-]/g, '_');
}
