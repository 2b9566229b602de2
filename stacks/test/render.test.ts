import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SIZING,
  renderSite,
  siteSelector,
  validateObjects,
  type ClusterRole,
  type KubeObject,
  type Namespace,
  type RoleBinding,
} from '../index.js';
import { buildFabric, site, smallInventory } from './inventory.js';

const fabric = buildFabric();
const { allocations } = fabric.allocate();
const render = (id: string, options = {}) => renderSite(fabric, fabric.site(id), allocations, options);
const find = <K extends KubeObject['kind']>(objects: KubeObject[], kind: K, name: string, namespace?: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace) as Extract<KubeObject, { kind: K }> | undefined;
const exchangeCidrs = (objects: KubeObject[]) =>
  find(objects, 'NetworkPolicy', 'allow-inter-tier-exchange', 'exchange')!.spec.ingress![0]!.from!.map((p) => p.ipBlock!.cidr);
const cidrsOf = (id: string) => {
  const a = allocations.get(id)!;
  return a.dr ? [a.dc, a.dr] : [a.dc];
};

describe('renderSite: namespaces', () => {
  it('GIVEN an ordinary prefecture WHEN rendered THEN it has one namespace per hosted domain plus the PKI, audit and monitoring namespaces', () => {
    const names = render('440100').filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    expect(names).toEqual(['employee-insurance', 'exchange', 'jinbao-pki', 'jinbao-audit', 'jinbao-monitoring']);
  });

  it('GIVEN a site THEN every namespace is labelled with site, tier, domain and MLPS level, and enforces Pod Security "restricted"', () => {
    const ns = find(render('440100'), 'Namespace', 'employee-insurance')!;
    expect(ns.metadata.labels).toMatchObject({
      'jinbao.io/site': '440100',
      'jinbao.io/tier': 'prefecture',
      'jinbao.io/domain': 'employee-insurance',
      'jinbao.io/mlps-level': '3',
      'jinbao.io/dc-class': 'C',
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    expect(ns.metadata.annotations).toEqual({ 'jinbao.io/site-name': '测试 440100', 'jinbao.io/site-slug': 's440100', 'jinbao.io/tier-name': '地市', 'jinbao.io/parent-name': '测试 440000' });
  });

  it('GIVEN a site hosting other sites\' DR centers WHEN rendered THEN it has a replica namespace per domain of each protected site', () => {
    const objects = render('610000');
    const replicas = objects.filter((o): o is Namespace => o.kind === 'Namespace' && o.metadata.labels?.['jinbao.io/replica-of'] !== undefined);
    expect(replicas.map((n) => n.metadata.name)).toEqual(['dr-000000-cross-region', 'dr-000000-national-query', 'dr-000000-basic-pension', 'dr-000000-exchange']);
    expect(replicas.map((n) => n.metadata.annotations?.['jinbao.io/replica-of-name'])).toEqual(Array(4).fill('测试 000000'));
    const replication = find(objects, 'NetworkPolicy', 'allow-replication', 'dr-000000-exchange')!;
    expect(replication.spec.ingress![0]!.from!.map((p) => p.ipBlock!.cidr)).toEqual(cidrsOf('000000'));
  });

  it('GIVEN a site that is nobody\'s DR center THEN it has no replica namespace', () => {
    expect(render('440100').some((o) => o.metadata.name.startsWith('dr-'))).toBe(false);
  });
});

describe('renderSite: quotas by data-center class', () => {
  it.each([
    ['000000', 'A'],
    ['440000', 'B'],
    ['440100', 'C'],
  ] as const)('GIVEN site %s of class %s THEN every namespace has that class\'s ResourceQuota and LimitRange', (id, dcClass) => {
    const objects = render(id);
    const quotas = objects.filter((o) => o.kind === 'ResourceQuota');
    const namespaces = objects.filter((o) => o.kind === 'Namespace');
    expect(quotas).toHaveLength(namespaces.length);
    for (const q of quotas) expect(q.kind === 'ResourceQuota' && q.spec.hard).toEqual(DEFAULT_SIZING[dcClass].quota);
    const limits = find(objects, 'LimitRange', 'jinbao-limits', 'exchange')!;
    expect(limits.spec.limits[0]!.default).toEqual(DEFAULT_SIZING[dcClass].containerDefault);
  });
});

describe('renderSite: network policies', () => {
  it('GIVEN any namespace THEN it denies all ingress and egress by default, then allows DNS, the namespace itself and the monitoring scrape', () => {
    const objects = render('440300');
    for (const ns of ['employee-insurance', 'exchange', 'jinbao-pki']) {
      const deny = find(objects, 'NetworkPolicy', 'default-deny', ns)!;
      expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      expect(find(objects, 'NetworkPolicy', 'allow-dns', ns)!.spec.egress![0]!.ports).toEqual([{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }]);
      expect(find(objects, 'NetworkPolicy', 'allow-same-namespace', ns)).toBeDefined();
      expect(find(objects, 'NetworkPolicy', 'allow-monitoring-scrape', ns)!.spec.ingress![0]!.from).toEqual([
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'jinbao-monitoring' } } },
      ]);
    }
  });

  it('GIVEN a prefecture THEN its exchange namespace talks only to its province\'s data center, both directions', () => {
    const objects = render('440100');
    expect(exchangeCidrs(objects)).toEqual(cidrsOf('440000'));
    const policy = find(objects, 'NetworkPolicy', 'allow-inter-tier-exchange', 'exchange')!;
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.egress![0]!.to!.map((p) => p.ipBlock!.cidr)).toEqual(cidrsOf('440000'));
  });

  it('GIVEN a province THEN its exchange peers are the ministry and its own prefectures, including their DR networks', () => {
    expect(exchangeCidrs(render('440000'))).toEqual([...cidrsOf('000000'), ...cidrsOf('440100'), ...cidrsOf('440300')]);
  });

  it('GIVEN the ministry THEN its exchange peers are the provinces', () => {
    expect(exchangeCidrs(render('000000'))).toEqual([...cidrsOf('110000'), ...cidrsOf('440000'), ...cidrsOf('610000')]);
  });

  it('GIVEN two prefectures THEN neither appears among the other\'s exchange peers (never prefecture ↔ prefecture)', () => {
    expect(exchangeCidrs(render('440100'))).not.toContain(allocations.get('440300')!.dc);
    expect(exchangeCidrs(render('440300'))).not.toContain(allocations.get('440100')!.dc);
    expect(exchangeCidrs(render('610100'))).not.toContain(allocations.get('440100')!.dc);
  });

  it('GIVEN a business namespace other than the exchange THEN it has no inter-tier policy', () => {
    expect(find(render('440100'), 'NetworkPolicy', 'allow-inter-tier-exchange', 'employee-insurance')).toBeUndefined();
  });
});

describe('renderSite: separation of duties', () => {
  const objects = render('440100');
  const role = (name: string) => find(objects, 'ClusterRole', name)! as ClusterRole;
  const grants = (r: ClusterRole, resource: string) => r.rules.filter((rule) => rule.resources.includes(resource) || rule.resources.includes('*'));

  it('GIVEN the system administrator THEN it manages workloads but can neither read secrets nor is bound in the audit or PKI namespaces', () => {
    expect(grants(role('jinbao-system-admin'), 'deployments')[0]!.verbs).toEqual(['*']);
    expect(grants(role('jinbao-system-admin'), 'secrets')).toEqual([]);
    const bound = objects.filter((o): o is RoleBinding => o.kind === 'RoleBinding' && o.roleRef.name === 'jinbao-system-admin').map((b) => b.metadata.namespace);
    expect(bound).not.toContain('jinbao-audit');
    expect(bound).not.toContain('jinbao-pki');
    expect(bound).toContain('employee-insurance');
  });

  it('GIVEN the security administrator THEN it holds secrets in every namespace and everything in the PKI namespace only', () => {
    expect(grants(role('jinbao-security-admin'), 'secrets')[0]!.verbs).toEqual(['*']);
    const pkiBindings = objects.filter((o): o is RoleBinding => o.kind === 'RoleBinding' && o.roleRef.name === 'jinbao-pki-admin');
    expect(pkiBindings.map((b) => [b.metadata.namespace, b.subjects[0]!.name])).toEqual([['jinbao-pki', 'jinbao:440100:security-admins']]);
  });

  it('GIVEN the audit administrator THEN it reads everywhere (audit data included) through a cluster binding, writes nothing and reads no secret', () => {
    const audit = role('jinbao-audit-admin');
    expect(new Set(audit.rules.flatMap((r) => r.verbs))).toEqual(new Set(['get', 'list', 'watch']));
    expect(grants(audit, 'secrets')).toEqual([]);
    const binding = find(objects, 'ClusterRoleBinding', 'jinbao-audit-admins')!;
    expect(binding.subjects).toEqual([{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'jinbao:440100:audit-admins' }]);
  });
});

describe('renderSite: trust bundle and labels', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2E=\n-----END CERTIFICATE-----';

  it('GIVEN no CA certificates THEN each namespace gets an empty, annotated placeholder', () => {
    const cm = find(render('440100'), 'ConfigMap', 'jinbao-trust-bundle', 'exchange')!;
    expect(cm.data).toEqual({ 'ca-bundle.pem': '' });
    expect(cm.metadata.annotations!['jinbao.io/trust-bundle']).toMatch(/^placeholder/);
  });

  it('GIVEN CA certificates from the PKI THEN the bundle holds them, one PEM block each', () => {
    const cm = find(render('440100', { trustBundle: [pem, pem] }), 'ConfigMap', 'jinbao-trust-bundle', 'exchange')!;
    expect(cm.data['ca-bundle.pem']).toBe(`${pem}\n${pem}\n`);
  });

  it('GIVEN a private key in the trust bundle THEN rendering refuses it', () => {
    expect(() => render('440100', { trustBundle: ['-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----'] })).toThrow(
      'trustBundle[0] contains a private key; a trust bundle holds public CA certificates only, never key material',
    );
  });

  it('GIVEN something that is not a PEM certificate THEN rendering says what it wants', () => {
    expect(() => render('440100', { trustBundle: ['hello'] })).toThrow('trustBundle[0] is not one PEM certificate; want a single "-----BEGIN CERTIFICATE-----" block');
  });

  it('GIVEN a site THEN every object carries the labels apply --prune selects on', () => {
    const selector = Object.fromEntries(siteSelector('440100').split(',').map((kv) => kv.split('=')));
    for (const o of render('440100')) expect(o.metadata.labels).toMatchObject(selector);
  });

  it('GIVEN the same inputs twice THEN the objects are identical (pure)', () => {
    expect(render('610000')).toEqual(render('610000'));
  });
});

describe('renderSite: bad input fails before anything is written, naming site, object and field', () => {
  it('GIVEN a namespace prefix that makes a name longer than 63 characters THEN it fails on metadata.name', () => {
    const err = (() => {
      try {
        render('440100', { namespacePrefix: 'x'.repeat(50) + '-' });
      } catch (e) {
        return e as Error & { details: string[] };
      }
    })()!;
    expect(err.message).toMatch(/^site 440100 would render \d+ invalid field\(s\); nothing was written$/);
    expect(err.details).toContain(
      `site 440100, Namespace ${'x'.repeat(50)}-employee-insurance, metadata.name: "${'x'.repeat(50)}-employee-insurance" is 69 characters; Kubernetes allows at most 63`,
    );
  });

  it('GIVEN a label value Kubernetes rejects THEN it fails on that label', () => {
    expect(() => render('440100', { extraLabels: { 'jinbao.io/owner': '广东 ops' } })).toThrow(expect.objectContaining({
      details: expect.arrayContaining([
        'site 440100, ClusterRole jinbao-system-admin, metadata.labels["jinbao.io/owner"]: "广东 ops" is not a valid label value; want letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
      ]),
    }));
  });

  it('GIVEN a quota below the LimitRange default THEN it fails on the quota field', () => {
    const sizing = { C: { ...DEFAULT_SIZING.C, quota: { ...DEFAULT_SIZING.C.quota, 'limits.memory': '512Mi' } } };
    expect(() => render('440100', { sizing })).toThrow(expect.objectContaining({
      details: expect.arrayContaining([
        'site 440100, ResourceQuota exchange/jinbao-quota, spec.hard["limits.memory"]: 512Mi is below the LimitRange default.memory 1Gi; not even one container would be admitted — raise the quota or lower the default',
      ]),
    }));
  });

  it('GIVEN a quantity that is not one THEN it says what a quantity looks like', () => {
    const sizing = { C: { ...DEFAULT_SIZING.C, quota: { ...DEFAULT_SIZING.C.quota, 'limits.cpu': 'lots' } } };
    expect(() => render('440100', { sizing })).toThrow(expect.objectContaining({
      details: expect.arrayContaining(['site 440100, ResourceQuota exchange/jinbao-quota, spec.hard["limits.cpu"]: "lots" is not a quantity such as "500m", "4Gi" or "16"']),
    }));
  });

  it('GIVEN an invalid label key or a duplicate object THEN each is reported', () => {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { 'bad key!': 'x' } } };
    expect(() => validateObjects('440100', [ns, ns])).toThrow(expect.objectContaining({
      details: [
        'site 440100, Namespace a, metadata.labels["bad key!"]: label key "bad key!" is invalid; want at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
        'site 440100, Namespace a, metadata.name: duplicate object; every object of a site needs its own kind, namespace and name',
        'site 440100, Namespace a, metadata.labels["bad key!"]: label key "bad key!" is invalid; want at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
      ],
    }));
  });

  it('GIVEN a name with characters a DNS label forbids THEN it says what a name may hold', () => {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'Bad_Name' } };
    expect(() => validateObjects('440100', [ns])).toThrow(expect.objectContaining({
      details: ['site 440100, Namespace Bad_Name, metadata.name: "Bad_Name" is not a DNS-1123 label; want lowercase letters, digits and "-", starting and ending with a letter or digit'],
    }));
  });

  it('GIVEN allocations that miss a peer THEN it says to allocate first', () => {
    const partial = new Map([...allocations].filter(([id]) => id !== '440000'));
    expect(() => renderSite(fabric, fabric.site('440100'), partial)).toThrow(
      'site 440100: no address allocation for site 440000; run "jinbao ipam" (or pass fabric.allocate() results) before rendering',
    );
  });

  it('GIVEN a site whose province centralizes (a municipality) THEN its prefecture keeps only the exchange namespace', () => {
    const inv = smallInventory();
    inv.sites.push(site('110100', 'prefecture'));
    const f = buildFabric(inv);
    const names = renderSite(f, f.site('110100'), f.allocate().allocations).filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    expect(names).toEqual(['exchange', 'jinbao-pki', 'jinbao-audit', 'jinbao-monitoring']);
  });
});
