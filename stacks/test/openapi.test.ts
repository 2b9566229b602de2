import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { LimitRange } from 'kubernetes-models/v1/LimitRange';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { describe, expect, it } from 'vitest';
import { loadFabric } from '../../fabric/index.js';
import { objectRef, renderSite, type KubeKind, type KubeObject } from '../index.js';

/** kubernetes-models' classes validate against the Kubernetes OpenAPI schemas; `validate()` throws on the first violation. */
const MODELS: Record<KubeKind, new (data: never) => { validate(): void }> = {
  Namespace,
  ResourceQuota,
  LimitRange,
  ConfigMap,
  NetworkPolicy,
  ClusterRole,
  ClusterRoleBinding,
  RoleBinding,
};

function openApiProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    try {
      new MODELS[o.kind](o as never).validate();
    } catch (err) {
      problems.push(`${objectRef(o)}: ${(err as Error).message}`);
    }
  }
  return problems;
}

describe('OpenAPI validation (kubernetes-models)', () => {
  it('GIVEN the national inventory WHEN every site is rendered THEN every object of every site validates against the Kubernetes schemas', () => {
    const fabric = loadFabric();
    const { allocations } = fabric.allocate();
    let count = 0;
    const problems: string[] = [];
    for (const site of fabric.sites) {
      const objects = renderSite(fabric, site, allocations);
      count += objects.length;
      problems.push(...openApiProblems(objects).map((p) => `${site.id}: ${p}`));
    }
    expect(problems).toEqual([]);
    expect(count).toBeGreaterThan(fabric.sites.length * 40);
  });

  it('GIVEN an object the schema rejects THEN the validator reports it (the check can fail)', () => {
    const broken = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'x', namespace: 'y' }, spec: { policyTypes: ['Ingress'] } } as unknown as KubeObject;
    expect(openApiProblems([broken])).toEqual(['NetworkPolicy y/x: data/spec must have required property podSelector']);
  });
});
