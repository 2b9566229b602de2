import type * as pulumi from '@pulumi/pulumi';
import { ConfigMap } from '@pulumi/kubernetes/core/v1/configMap.js';
import { LimitRange } from '@pulumi/kubernetes/core/v1/limitRange.js';
import { Namespace } from '@pulumi/kubernetes/core/v1/namespace.js';
import { ResourceQuota } from '@pulumi/kubernetes/core/v1/resourceQuota.js';
import { NetworkPolicy } from '@pulumi/kubernetes/networking/v1/networkPolicy.js';
import { ClusterRole } from '@pulumi/kubernetes/rbac/v1/clusterRole.js';
import { ClusterRoleBinding } from '@pulumi/kubernetes/rbac/v1/clusterRoleBinding.js';
import { RoleBinding } from '@pulumi/kubernetes/rbac/v1/roleBinding.js';
import { Deployment } from '@pulumi/kubernetes/apps/v1/deployment.js';
import { CustomResource } from '@pulumi/kubernetes/apiextensions/customResource.js';
import { Service } from '@pulumi/kubernetes/core/v1/service.js';
import { PodDisruptionBudget } from '@pulumi/kubernetes/policy/v1/podDisruptionBudget.js';
import { logicalId } from '../cdktf/logical-id.js';
import type { KubeObject } from '../render/index.js';

type DeepMutable<T> = T extends readonly (infer U)[] ? DeepMutable<U>[] : T extends object ? { -readonly [K in keyof T]: DeepMutable<T[K]> } : T;

/** The object without apiVersion and kind (the resource class sets them), as a fresh copy. */
function body<T extends KubeObject>(o: T): DeepMutable<Omit<T, 'apiVersion' | 'kind'>> {
  const { apiVersion: _apiVersion, kind: _kind, ...rest } = structuredClone(o);
  return rest as DeepMutable<Omit<T, 'apiVersion' | 'kind'>>;
}

/**
 * Declare a site's objects as typed `@pulumi/kubernetes` resources, one per object, named like the
 * cdktf stack's resources. The objects pass through unchanged: Pulumi's inputs are the Kubernetes
 * shapes themselves.
 */
export function declareSite(objects: readonly KubeObject[], opts: pulumi.CustomResourceOptions = {}): pulumi.CustomResource[] {
  return objects.map((o) => {
    const name = logicalId(o);
    switch (o.kind) {
      case 'Namespace':
        return new Namespace(name, body(o), opts);
      case 'ResourceQuota':
        return new ResourceQuota(name, body(o), opts);
      case 'LimitRange':
        return new LimitRange(name, body(o), opts);
      case 'ConfigMap':
        return new ConfigMap(name, body(o), opts);
      case 'NetworkPolicy':
        return new NetworkPolicy(name, body(o), opts);
      case 'ClusterRole':
        return new ClusterRole(name, body(o), opts);
      case 'ClusterRoleBinding':
        return new ClusterRoleBinding(name, body(o), opts);
      case 'RoleBinding':
        return new RoleBinding(name, body(o), opts);
      case 'Deployment':
        return new Deployment(name, body(o), opts);
      case 'Service':
        return new Service(name, body(o), opts);
      case 'PodDisruptionBudget':
        return new PodDisruptionBudget(name, body(o), opts);
      case 'ClusterIssuer':
      case 'Certificate':
        // cert-manager's kinds have no typed class: a CustomResource carries the object as rendered.
        return new CustomResource(name, structuredClone(o) as unknown as Record<string, unknown> & { apiVersion: string; kind: string }, opts);
    }
  });
}
