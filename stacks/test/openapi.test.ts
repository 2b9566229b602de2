import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { LimitRange } from 'kubernetes-models/v1/LimitRange';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import { ClusterIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/ClusterIssuer';
import { describe, expect, it } from 'vitest';
import { loadFabric } from '../../fabric/index.js';
import { objectRef, renderSite, type KubeKind, type KubeObject } from '../index.js';

/**
 * kubernetes-models' classes validate against the Kubernetes OpenAPI schemas, and
 * @kubernetes-models/cert-manager's against the openAPIV3Schema of cert-manager's v1 CRDs;
 * `validate()` throws on the first violation.
 */
const MODELS: Record<KubeKind, new (data: never) => { validate(): void }> = {
  Namespace,
  ResourceQuota,
  LimitRange,
  ConfigMap,
  NetworkPolicy,
  ClusterRole,
  ClusterRoleBinding,
  RoleBinding,
  Service,
  Deployment,
  PodDisruptionBudget,
  ClusterIssuer,
  Certificate,
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

  describe('cert-manager and the certificate service', () => {
    const fabric = loadFabric();
    const { allocations } = fabric.allocate();
    const ministry = renderSite(fabric, fabric.ministry, allocations);
    const find = (kind: KubeKind) => ministry.find((o) => o.kind === kind)!;
    const broken = (kind: KubeKind, edit: (o: any) => void) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const copy = structuredClone(find(kind)) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      edit(copy);
      return openApiProblems([copy as KubeObject]);
    };

    it('GIVEN the ministry THEN it renders each new kind, and each validates', () => {
      for (const kind of ['ClusterIssuer', 'Certificate', 'Deployment', 'Service', 'PodDisruptionBudget'] as const) expect(openApiProblems([find(kind)]), kind).toEqual([]);
    });

    it('GIVEN a ClusterIssuer without its EAB key secret reference THEN the cert-manager schema rejects it', () => {
      expect(broken('ClusterIssuer', (o) => delete o.spec.acme.externalAccountBinding.keySecretRef)).toEqual([
        'ClusterIssuer jinbao-acme: data/spec/acme/externalAccountBinding must have required property keySecretRef',
      ]);
    });

    it('GIVEN a ClusterIssuer whose ACME server is not a string THEN the cert-manager schema rejects it', () => {
      expect(broken('ClusterIssuer', (o) => (o.spec.acme.server = 443))).toEqual(['ClusterIssuer jinbao-acme: data/spec/acme/server must be string']);
    });

    it('GIVEN a Certificate without secretName THEN the cert-manager schema rejects it', () => {
      const [problem] = broken('Certificate', (o) => delete o.spec.secretName);
      expect(problem).toMatch(/^Certificate cross-region\/cross-region-tls: data\/spec must have required property secretName$/);
    });

    it('GIVEN a Certificate with an unknown private key algorithm THEN the cert-manager schema rejects it', () => {
      const [problem] = broken('Certificate', (o) => (o.spec.privateKey.algorithm = 'DSA'));
      expect(problem).toMatch(/^Certificate cross-region\/cross-region-tls: data\/spec\/privateKey\/algorithm must be equal to one of the allowed values/);
    });

    it('GIVEN a Deployment whose replica count is a string THEN the Kubernetes schema rejects it', () => {
      expect(broken('Deployment', (o) => (o.spec.replicas = 'two'))).toEqual(['Deployment jinbao-pki/jinbao-serve: data/spec/replicas must be integer']);
    });
  });
});
