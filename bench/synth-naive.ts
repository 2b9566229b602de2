/**
 * The naive baseline for bench/synth.ts: a plain cdktf program as the provider's README writes it —
 * whole-package import, one App with every site's stack, cdktf's defaults — rendering the same
 * objects as stacks/cdktf/site-stack.ts. Not used by jinbao itself.
 */
import * as k8s from '@cdktf/provider-kubernetes';
import { App, LocalBackend, TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { mkdirSync } from 'node:fs';
import type { Fabric, SiteAllocation } from '../fabric/index.js';
import { logicalId } from '../stacks/cdktf/index.js';
import { renderSite, type KubeObject, type LabelSelector, type NetworkPolicyPeer, type NetworkPolicyPort } from '../stacks/index.js';

const selector = (s: LabelSelector) => (s.matchLabels ? { matchLabels: { ...s.matchLabels } } : {});
const peers = (list: readonly NetworkPolicyPeer[] | undefined) =>
  list?.map((p) => ({
    ...(p.ipBlock ? { ipBlock: { cidr: p.ipBlock.cidr } } : {}),
    ...(p.namespaceSelector ? { namespaceSelector: selector(p.namespaceSelector) } : {}),
    ...(p.podSelector ? { podSelector: selector(p.podSelector) } : {}),
  }));
const ports = (list: readonly NetworkPolicyPort[] | undefined) => list?.map((p) => ({ port: String(p.port), protocol: p.protocol }));

class NaiveSiteStack extends TerraformStack {
  constructor(scope: Construct, siteId: string, objects: readonly KubeObject[]) {
    super(scope, siteId);
    const kubeconfig = new TerraformVariable(this, 'kubeconfig', { type: 'string', default: '~/.kube/config', description: `kubeconfig of site ${siteId}'s cluster` });
    new k8s.provider.KubernetesProvider(this, 'kubernetes', { configPath: kubeconfig.stringValue, configContext: `jinbao-${siteId}` });
    new LocalBackend(this, { path: `terraform.${siteId}.tfstate` });
    for (const o of objects) {
      const id = logicalId(o);
      const metadata = { ...o.metadata, labels: { ...o.metadata.labels }, ...(o.metadata.annotations ? { annotations: { ...o.metadata.annotations } } : {}) };
      switch (o.kind) {
        case 'Namespace':
          new k8s.namespaceV1.NamespaceV1(this, id, { metadata });
          break;
        case 'ResourceQuota':
          new k8s.resourceQuotaV1.ResourceQuotaV1(this, id, { metadata, spec: { hard: { ...o.spec.hard } } });
          break;
        case 'LimitRange':
          new k8s.limitRangeV1.LimitRangeV1(this, id, {
            metadata,
            spec: { limit: o.spec.limits.map((l) => ({ type: l.type, default: { ...l.default }, defaultRequest: { ...l.defaultRequest }, max: { ...l.max } })) },
          });
          break;
        case 'ConfigMap':
          new k8s.configMapV1.ConfigMapV1(this, id, { metadata, data: { ...o.data } });
          break;
        case 'NetworkPolicy':
          new k8s.networkPolicyV1.NetworkPolicyV1(this, id, {
            metadata,
            spec: {
              podSelector: selector(o.spec.podSelector),
              policyTypes: [...o.spec.policyTypes],
              ...(o.spec.ingress ? { ingress: o.spec.ingress.map((r) => ({ from: peers(r.from), ports: ports(r.ports) })) } : {}),
              ...(o.spec.egress ? { egress: o.spec.egress.map((r) => ({ to: peers(r.to), ports: ports(r.ports) })) } : {}),
            },
          });
          break;
        case 'ClusterRole':
          new k8s.clusterRoleV1.ClusterRoleV1(this, id, { metadata, rule: o.rules.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })) });
          break;
        case 'ClusterRoleBinding':
          new k8s.clusterRoleBindingV1.ClusterRoleBindingV1(this, id, { metadata, roleRef: { ...o.roleRef }, subject: o.subjects.map((s) => ({ ...s })) });
          break;
        case 'RoleBinding':
          new k8s.roleBindingV1.RoleBindingV1(this, id, { metadata, roleRef: { ...o.roleRef }, subject: o.subjects.map((s) => ({ ...s })) });
          break;
      }
    }
  }
}

export function synthesizeNaively(fabric: Fabric, allocations: ReadonlyMap<string, SiteAllocation>, outDir: string): { stacks: number; resources: number } {
  mkdirSync(outDir, { recursive: true });
  const app = new App({ outdir: outDir });
  let resources = 0;
  for (const site of fabric.sites) {
    const objects = renderSite(fabric, site, allocations);
    resources += objects.length;
    new NaiveSiteStack(app, site.id, objects);
  }
  app.synth();
  return { stacks: fabric.sites.length, resources };
}
