import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it, beforeAll } from 'vitest';
import { loadFabric } from '../../fabric/index.js';
import { logicalId, stackJson } from '../cdktf/index.js';
import { renderSite, type KubeObject } from '../index.js';

/**
 * Parity: for sample sites covering every tier, the four municipalities and a DR center, the cdktf
 * stack, the Pulumi resources and the engine-neutral objects describe the same objects with the same
 * specs. The Terraform JSON is read back into Kubernetes shape field by field (below), so a field one
 * engine drops or renames is a difference.
 */
const SAMPLE = ['000000', '110000', '120000', '310000', '500000', '440000', '440100', '540000', '540100', '610000', '660000'];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TF_KIND: Record<string, [string, KubeObject['kind']]> = {
  kubernetes_namespace_v1: ['v1', 'Namespace'],
  kubernetes_resource_quota_v1: ['v1', 'ResourceQuota'],
  kubernetes_limit_range_v1: ['v1', 'LimitRange'],
  kubernetes_config_map_v1: ['v1', 'ConfigMap'],
  kubernetes_network_policy_v1: ['networking.k8s.io/v1', 'NetworkPolicy'],
  kubernetes_cluster_role_v1: ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
  kubernetes_cluster_role_binding_v1: ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
  kubernetes_role_binding_v1: ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
};

const selector = (s: Json) => (s.match_labels ? { matchLabels: s.match_labels } : {});
const peer = (p: Json) => ({
  ...(p.ip_block ? { ipBlock: { cidr: p.ip_block.cidr } } : {}),
  ...(p.namespace_selector ? { namespaceSelector: selector(p.namespace_selector) } : {}),
  ...(p.pod_selector ? { podSelector: selector(p.pod_selector) } : {}),
});
const port = (p: Json) => ({ protocol: p.protocol, port: /^\d+$/.test(p.port) ? Number(p.port) : p.port });
const subject = (s: Json) => ({ kind: s.kind, ...(s.api_group ? { apiGroup: s.api_group } : {}), name: s.name });
const roleRef = (r: Json) => ({ apiGroup: r.api_group, kind: r.kind, name: r.name });

/** A Terraform resource of the Kubernetes provider, read back as the Kubernetes object it manages. */
function fromTerraform(type: string, body: Json): Json {
  if (type === 'kubernetes_manifest') return body.manifest;
  const [apiVersion, kind] = TF_KIND[type] ?? [undefined, undefined];
  if (!kind) throw new Error(`unexpected Terraform resource type ${type}`);
  const head = { apiVersion, kind, metadata: body.metadata };
  switch (kind) {
    case 'Namespace':
      return head;
    case 'ResourceQuota':
      return { ...head, spec: { hard: body.spec.hard } };
    case 'LimitRange':
      return { ...head, spec: { limits: body.spec.limit.map((l: Json) => ({ type: l.type, default: l.default, defaultRequest: l.default_request, max: l.max })) } };
    case 'ConfigMap':
      return { ...head, data: body.data };
    case 'NetworkPolicy':
      return {
        ...head,
        spec: {
          podSelector: selector(body.spec.pod_selector),
          policyTypes: body.spec.policy_types,
          ...(body.spec.ingress ? { ingress: body.spec.ingress.map((r: Json) => ({ ...(r.from ? { from: r.from.map(peer) } : {}), ...(r.ports ? { ports: r.ports.map(port) } : {}) })) } : {}),
          ...(body.spec.egress ? { egress: body.spec.egress.map((r: Json) => ({ ...(r.to ? { to: r.to.map(peer) } : {}), ...(r.ports ? { ports: r.ports.map(port) } : {}) })) } : {}),
        },
      };
    case 'ClusterRole':
      return { ...head, rules: body.rule.map((r: Json) => ({ apiGroups: r.api_groups, resources: r.resources, verbs: r.verbs })) };
    case 'ClusterRoleBinding':
    case 'RoleBinding':
      return { ...head, roleRef: roleRef(body.role_ref), subjects: body.subject.map(subject) };
    default:
      throw new Error(`${kind} is declared as kubernetes_manifest, not ${type}`);
  }
}

function cdktfObjects(siteId: string, objects: readonly KubeObject[]): Map<string, Json> {
  const tf = stackJson(siteId, objects) as { resource: Record<string, Record<string, Json>> };
  const out = new Map<string, Json>();
  for (const [type, resources] of Object.entries(tf.resource)) {
    for (const [id, body] of Object.entries(resources)) {
      const { '//': _meta, ...rest } = body;
      out.set(id, fromTerraform(type, rest));
    }
  }
  return out;
}

const recorded = new Map<string, Json>();
beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        recorded.set(`${args.type}::${args.name}`, args.inputs);
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    'jinbao-dc',
    'test',
    false,
  );
});

async function pulumiObjects(objects: readonly KubeObject[]): Promise<Map<string, Json>> {
  recorded.clear();
  const { declareSite } = await import('../pulumi/index.js');
  const resources = declareSite(objects);
  await Promise.all(resources.map((r) => new Promise((resolve) => r.urn.apply(resolve))));
  return new Map([...recorded].map(([key, inputs]) => [key.split('::')[1]!, inputs]));
}

describe('engine parity: cdktf, Pulumi and the engine-neutral objects', () => {
  const fabric = loadFabric();
  const { allocations } = fabric.allocate();

  it('GIVEN the sample THEN it covers every tier, the four municipalities and a DR center', () => {
    const sites = SAMPLE.map((id) => fabric.site(id));
    expect(new Set(sites.map((s) => s.tier))).toEqual(new Set(['ministry', 'province', 'prefecture']));
    for (const m of ['110000', '120000', '310000', '500000']) expect(SAMPLE).toContain(m);
    expect(sites.some((s) => fabric.drProtectedBy(s).length > 0)).toBe(true);
  });

  it.each(SAMPLE)('GIVEN site %s THEN the cdktf stack and the Pulumi program declare exactly the rendered objects', async (id) => {
    const objects = renderSite(fabric, fabric.site(id), allocations);
    const expected = new Map(objects.map((o) => [logicalId(o), JSON.parse(JSON.stringify(o)) as Json]));
    const fromCdktf = cdktfObjects(id, objects);
    const fromPulumi = await pulumiObjects(objects);
    expect([...fromCdktf.keys()].sort()).toEqual([...expected.keys()].sort());
    expect([...fromPulumi.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, object] of expected) {
      expect(fromCdktf.get(key), `cdktf ${key}`).toEqual(object);
      expect(fromPulumi.get(key), `pulumi ${key}`).toEqual(object);
    }
  });
});
