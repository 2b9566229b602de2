import { LocalBackend, PgBackend, TerraformStack, TerraformVariable, type PgBackendConfig } from 'cdktf';
import type { Construct } from 'constructs';
import { ClusterRoleBindingV1 } from '@cdktf/provider-kubernetes/lib/cluster-role-binding-v1/index.js';
import { ClusterRoleV1 } from '@cdktf/provider-kubernetes/lib/cluster-role-v1/index.js';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1/index.js';
import { LimitRangeV1 } from '@cdktf/provider-kubernetes/lib/limit-range-v1/index.js';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1/index.js';
import { NetworkPolicyV1 } from '@cdktf/provider-kubernetes/lib/network-policy-v1/index.js';
import { Manifest } from '@cdktf/provider-kubernetes/lib/manifest/index.js';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider/index.js';
import { ResourceQuotaV1 } from '@cdktf/provider-kubernetes/lib/resource-quota-v1/index.js';
import { RoleBindingV1 } from '@cdktf/provider-kubernetes/lib/role-binding-v1/index.js';
import type { KubeObject, LabelSelector, NetworkPolicyPeer, NetworkPolicyPort } from '../render/index.js';
import { pgSchemaName, type Backend } from './backend.js';
import { logicalId } from './logical-id.js';

export interface SiteStackProps {
  readonly siteId: string;
  /** The site's objects, as the renderer made them. */
  readonly objects: readonly KubeObject[];
  /** Where Terraform keeps this stack's state. @default Backend.local() */
  readonly backend?: Backend;
}

/**
 * One site's data center as a Terraform stack: one `@cdktf/provider-kubernetes` resource per object.
 * The baseline's own kinds are typed resources; cert-manager's ClusterIssuer and Certificate have
 * none, and the certificate service's Deployment, Service and PodDisruptionBudget are declared the
 * same way (`kubernetes_manifest`, the object as rendered), so the service's workload reaches the
 * cluster field for field as `jinbao manifests` prints it.
 */
export class SiteStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: SiteStackProps) {
    super(scope, id);
    const kubeconfig = new TerraformVariable(this, 'kubeconfig', {
      type: 'string',
      default: '~/.kube/config',
      description: `kubeconfig of site ${props.siteId}'s cluster`,
    });
    new KubernetesProvider(this, 'kubernetes', { configPath: kubeconfig.stringValue, configContext: `jinbao-${props.siteId}` });
    const backend = props.backend ?? { kind: 'local' };
    if (backend.kind === 'pg') {
      // cdktf 0.21 types `connStr` as required, but Terraform's pg backend (1.5 or later) reads
      // PG_CONN_STR when `conn_str` is absent, which keeps the connection string out of the file.
      const config = { ...(backend.connStr === undefined ? {} : { connStr: backend.connStr }), schemaName: pgSchemaName(props.siteId) };
      new PgBackend(this, config as PgBackendConfig);
    } else new LocalBackend(this, { path: `terraform.${props.siteId}.tfstate` });
    for (const o of props.objects) declare(this, o);
  }

  /**
   * cdktf's preparing pass resolves every resource once more only to discover cross-stack
   * references. A site stack has none (each site is its own cluster and refers to nothing outside
   * itself), its backend is always set above, and the pass costs as much as synthesis itself.
   */
  override prepareStack(): void {}
}

/** `{}` selects everything; written as an empty block, not as an empty `match_labels`. */
const selector = (s: LabelSelector) => (s.matchLabels ? { matchLabels: { ...s.matchLabels } } : {});
const peers = (list: readonly NetworkPolicyPeer[] | undefined) =>
  list?.map((p) => ({
    ...(p.ipBlock ? { ipBlock: { cidr: p.ipBlock.cidr } } : {}),
    ...(p.namespaceSelector ? { namespaceSelector: selector(p.namespaceSelector) } : {}),
    ...(p.podSelector ? { podSelector: selector(p.podSelector) } : {}),
  }));
const ports = (list: readonly NetworkPolicyPort[] | undefined) => list?.map((p) => ({ port: String(p.port), protocol: p.protocol }));

function declare(stack: Construct, o: KubeObject): void {
  const id = logicalId(o);
  const metadata = { ...o.metadata, labels: { ...o.metadata.labels }, ...(o.metadata.annotations ? { annotations: { ...o.metadata.annotations } } : {}) };
  switch (o.kind) {
    case 'Namespace':
      new NamespaceV1(stack, id, { metadata });
      return;
    case 'ResourceQuota':
      new ResourceQuotaV1(stack, id, { metadata, spec: { hard: { ...o.spec.hard } } });
      return;
    case 'LimitRange':
      new LimitRangeV1(stack, id, {
        metadata,
        spec: { limit: o.spec.limits.map((l) => ({ type: l.type, default: { ...l.default }, defaultRequest: { ...l.defaultRequest }, max: { ...l.max } })) },
      });
      return;
    case 'ConfigMap':
      new ConfigMapV1(stack, id, { metadata, data: { ...o.data } });
      return;
    case 'NetworkPolicy':
      new NetworkPolicyV1(stack, id, {
        metadata,
        spec: {
          podSelector: selector(o.spec.podSelector),
          policyTypes: [...o.spec.policyTypes],
          ...(o.spec.ingress ? { ingress: o.spec.ingress.map((r) => ({ from: peers(r.from), ports: ports(r.ports) })) } : {}),
          ...(o.spec.egress ? { egress: o.spec.egress.map((r) => ({ to: peers(r.to), ports: ports(r.ports) })) } : {}),
        },
      });
      return;
    case 'ClusterRole':
      new ClusterRoleV1(stack, id, {
        metadata,
        rule: o.rules.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })),
      });
      return;
    case 'ClusterRoleBinding':
      new ClusterRoleBindingV1(stack, id, { metadata, roleRef: { ...o.roleRef }, subject: o.subjects.map((s) => ({ ...s })) });
      return;
    case 'RoleBinding':
      new RoleBindingV1(stack, id, { metadata, roleRef: { ...o.roleRef }, subject: o.subjects.map((s) => ({ ...s })) });
      return;
    case 'ClusterIssuer':
    case 'Certificate':
    case 'Deployment':
    case 'Service':
    case 'PodDisruptionBudget':
      new Manifest(stack, id, { manifest: structuredClone(o) as unknown as Record<string, unknown> });
      return;
  }
}
