import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../testkit/index.js';
import { applyPlan, connectCluster, formatPlan, planSite, type Cluster } from '../deploy/index.js';
import { renderSite, type KubeObject } from '../index.js';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.js';
import { buildFabric, smallInventory } from './inventory.js';

/** The API server here is an in-process fake (see fake-apiserver.ts), not a cluster. */
const fabric = buildFabric();
const { allocations } = fabric.allocate();
const wholeSite = renderSite(fabric, fabric.site('440100'), allocations);
/** Most tests need one namespace's objects only: each request costs a TLS round trip. */
const desired = wholeSite.filter((o) => o.metadata.namespace === 'exchange' || (o.kind === 'Namespace' && o.metadata.name === 'exchange'));

let server: FakeApiServer;
let dir: string;
let cleanup: () => void;
let cluster: Cluster;
beforeEach(async () => {
  server = await startFakeApiServer();
  ({ dir, cleanup } = tempDir('jinbao-deploy-'));
  cluster = connectCluster(kubeconfig());
});
afterEach(async () => {
  await server.close();
  cleanup();
});

function kubeconfig(token?: string): string {
  const file = join(dir, `kubeconfig-${token ?? 'ok'}.json`);
  writeFileSync(file, server.kubeconfig(token));
  return file;
}

const deploy = async (objects: readonly KubeObject[] = desired, opts = {}) => applyPlan(cluster, await planSite(cluster, '440100', objects), opts);
const failure = async (p: Promise<unknown>) => p.then(() => undefined, (e: Error & { details?: string[]; exitCode?: number }) => e);

describe('plan and apply against the fake API server', () => {
  it('GIVEN an empty cluster WHEN planned THEN every object is to be created, namespaces and roles first', async () => {
    const plan = await planSite(cluster, '440100', wholeSite);
    expect(plan.changes.every((c) => c.action === 'create')).toBe(true);
    expect(plan.changes).toHaveLength(wholeSite.length);
    expect(plan.changes[0]!.object.kind).toBe('Namespace');
    // cert-manager's objects come last: the issuer and the certificates refer to the Secrets and namespaces created before them.
    expect(plan.changes.at(-1)!.object.kind).toBe('Certificate');
    expect(formatPlan(plan, { prune: false })).toContain(`  + Namespace employee-insurance\n`);
  });

  it('GIVEN an apply WHEN planned again THEN nothing is left to do, though the server added its own label to namespaces', async () => {
    const report = await deploy(wholeSite);
    expect(report.applied).toHaveLength(wholeSite.length);
    expect(server.get('v1', 'Namespace', 'exchange')!.metadata.labels['kubernetes.io/metadata.name']).toBe('exchange');
    const again = await planSite(cluster, '440100', wholeSite);
    expect(again.changes.every((c) => c.action === 'unchanged')).toBe(true);
    expect(formatPlan(again, { prune: false })).toMatch(/0 to create, 0 to change, 0 to delete, \d+ unchanged\n$/);
  });

  it('GIVEN a changed quota WHEN planned THEN the diff names the field with its old and new value', async () => {
    await deploy();
    const biggerFabric = buildFabric(withClass('440100', 'B'));
    const bigger = renderSite(biggerFabric, biggerFabric.site('440100'), allocations).filter((o) => desired.some((d) => d.kind === o.kind && d.metadata.name === o.metadata.name && d.metadata.namespace === o.metadata.namespace));
    const plan = await planSite(cluster, '440100', bigger);
    const text = formatPlan(plan, { prune: false });
    expect(text).toContain(
      '  ~ ResourceQuota exchange/jinbao-quota\n      spec.hard["requests.cpu"]: "16" → "32"\n      spec.hard["requests.memory"]: "64Gi" → "128Gi"\n      spec.hard["limits.cpu"]: "32" → "64"\n',
    );
  });

  it('GIVEN another field manager\'s label WHEN jinbao applies again THEN server-side apply keeps it', async () => {
    await deploy();
    server.applyAs('kubectl', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'jinbao-trust-bundle', namespace: 'exchange', labels: { team: 'ops' } } });
    const changed = desired.map((o) => (o.kind === 'ConfigMap' && o.metadata.namespace === 'exchange' ? { ...o, data: { 'ca-bundle.pem': 'x\n' } } : o));
    await deploy(changed);
    const live = server.get('v1', 'ConfigMap', 'jinbao-trust-bundle', 'exchange')!;
    expect(live.metadata.labels.team).toBe('ops');
    expect(live.data).toEqual({ 'ca-bundle.pem': 'x\n' });
  });

  it('GIVEN a field another manager owns with another value THEN apply stops with the 409 conflict, and --force-conflicts takes it over', async () => {
    await deploy();
    server.applyAs('kubectl', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'jinbao-trust-bundle', namespace: 'exchange' }, data: { 'ca-bundle.pem': 'theirs\n' } });
    const mine = desired.map((o) => (o.kind === 'ConfigMap' && o.metadata.namespace === 'exchange' ? { ...o, data: { 'ca-bundle.pem': 'mine\n' } } : o));
    const err = await failure(deploy(mine));
    expect(err!.message).toContain('apply of site 440100 stopped at ConfigMap exchange/jinbao-trust-bundle: apply ConfigMap exchange/jinbao-trust-bundle: the API server answered 409: Apply failed with 1 conflict(s): conflict with "kubectl": .data.ca-bundle.pem');
    expect(err!.exitCode).toBe(2);
    await deploy(mine, { forceConflicts: true });
    expect(server.get('v1', 'ConfigMap', 'jinbao-trust-bundle', 'exchange')!.data).toEqual({ 'ca-bundle.pem': 'mine\n' });
  });

  it('GIVEN a field jinbao no longer sets WHEN applied THEN server-side apply removes it', async () => {
    await deploy();
    const withoutAnnotations = (o: KubeObject): KubeObject => {
      const { annotations: _dropped, ...metadata } = o.metadata;
      return { ...o, metadata } as KubeObject;
    };
    const fewer = desired.map((o) => (o.kind === 'ConfigMap' && o.metadata.namespace === 'exchange' ? withoutAnnotations(o) : o));
    const plan = await planSite(cluster, '440100', fewer);
    expect(formatPlan(plan, { prune: false })).toContain(
      '  ~ ConfigMap exchange/jinbao-trust-bundle\n      metadata.annotations["jinbao.io/trust-bundle"]: "placeholder: filled by the PKI with public CA certificates" → (unset)\n',
    );
    await applyPlan(cluster, plan);
    expect(server.get('v1', 'ConfigMap', 'jinbao-trust-bundle', 'exchange')!.metadata.annotations).toBeUndefined();
  });

  it('GIVEN objects with the site\'s labels that are no longer desired THEN plan lists them, and only --prune deletes them', async () => {
    await deploy();
    const fewer = desired.filter((o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'allow-monitoring-scrape' && o.metadata.namespace === 'exchange'));
    const plan = await planSite(cluster, '440100', fewer);
    expect(formatPlan(plan, { prune: false })).toContain('  - NetworkPolicy exchange/allow-monitoring-scrape   (kept: pass --prune to delete)');
    await applyPlan(cluster, plan);
    expect(server.get('networking.k8s.io/v1', 'NetworkPolicy', 'allow-monitoring-scrape', 'exchange')).toBeDefined();
    const report = await applyPlan(cluster, plan, { prune: true });
    expect(report.pruned).toEqual(['NetworkPolicy exchange/allow-monitoring-scrape']);
    expect(server.get('networking.k8s.io/v1', 'NetworkPolicy', 'allow-monitoring-scrape', 'exchange')).toBeUndefined();
  });

  it('GIVEN an object changed after the plan WHEN pruning THEN the resourceVersion precondition answers 409 and nothing is deleted', async () => {
    await deploy();
    const fewer = desired.filter((o) => !(o.kind === 'ConfigMap' && o.metadata.namespace === 'exchange'));
    const plan = await planSite(cluster, '440100', fewer);
    server.applyAs('kubectl', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'jinbao-trust-bundle', namespace: 'exchange', labels: { touched: 'yes' } } });
    const err = await failure(applyPlan(cluster, plan, { prune: true }));
    expect(err!.message).toContain('the API server answered 409: Operation cannot be fulfilled on configmaps "jinbao-trust-bundle": the ResourceVersion in the precondition');
    expect(server.get('v1', 'ConfigMap', 'jinbao-trust-bundle', 'exchange')).toBeDefined();
  });

  it('GIVEN --dry-run THEN the server checks the changes and stores nothing', async () => {
    await deploy(desired.filter((o) => o.kind === 'Namespace'));
    const report = await deploy(desired, { dryRun: true });
    expect(report.dryRun).toBe(true);
    expect(report.applied.length).toBeGreaterThan(0);
    expect(server.get('v1', 'ConfigMap', 'jinbao-trust-bundle', 'exchange')).toBeUndefined();
    expect(server.requests.some((r) => r.startsWith('PATCH'))).toBe(true);
  });

  it('GIVEN --dry-run on an empty cluster THEN objects in namespaces the apply would create are reported as unchecked', async () => {
    const report = await deploy(desired, { dryRun: true });
    expect(report.unchecked).toContain('ConfigMap exchange/jinbao-trust-bundle');
    expect(server.objects.size).toBe(0);
  });

  it('GIVEN an object the API server rejects (422) half-way THEN the error lists what was applied, what failed and what was not', async () => {
    server.failNext(/^PATCH \/api\/v1\/namespaces\/exchange\/resourcequotas\//, 422, 'ResourceQuota "jinbao-quota" is invalid: spec.hard[limits.cpu]: Invalid value');
    const err = await failure(deploy());
    expect(err!.message).toMatch(/^apply of site 440100 stopped at ResourceQuota exchange\/jinbao-quota: apply ResourceQuota exchange\/jinbao-quota: the API server answered 422: ResourceQuota "jinbao-quota" is invalid/);
    expect(err!.message).toMatch(/\n\d+ of \d+ change\(s\) were made, \d+ not made; fix the cause and run apply again \(it resumes from the cluster's state\)$/);
    expect(err!.details).toContain('applied: Namespace exchange');
    expect(err!.details).toContain('failed: ResourceQuota exchange/jinbao-quota');
    expect(err!.details).toContain('not done: apply NetworkPolicy exchange/default-deny');
    expect(server.get('v1', 'Namespace', 'exchange')).toBeDefined();
  });

  it('GIVEN an object the OpenAPI schema rejects THEN the fake answers 422 with the schema message', async () => {
    await deploy(desired.filter((o) => o.kind === 'Namespace'));
    const broken = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'broken', namespace: 'exchange' }, spec: { policyTypes: ['Ingress'] } } as unknown as KubeObject;
    const err = await failure(deploy([broken]));
    expect(err!.message).toContain('the API server answered 422: NetworkPolicy "broken" is invalid: data/spec must have required property podSelector');
  });

  it('GIVEN an object in a namespace that does not exist THEN the 404 is reported with the namespace', async () => {
    const orphan = desired.find((o) => o.kind === 'ConfigMap')!;
    const err = await failure(deploy([orphan]));
    expect(err!.message).toContain('the API server answered 404: namespaces "exchange" not found');
  });

  it('GIVEN a wrong token THEN plan says the credentials were rejected, exit code 2', async () => {
    const bad = connectCluster(kubeconfig('wrong'));
    const err = await failure(planSite(bad, '440100', desired));
    expect(err!.message).toBe(`the API server ${server.url} rejected the credentials of context "jinbao-fake" (401 Unauthorized); refresh the token or certificate in the kubeconfig`);
    expect(err!.exitCode).toBe(2);
  });

  it('GIVEN an API server that is not listening THEN plan says it cannot be reached, exit code 4', async () => {
    const file = kubeconfig();
    await server.close();
    const err = await failure(planSite(connectCluster(file), '440100', desired));
    expect(err!.message).toBe(`cannot reach the API server ${server.url} of context "jinbao-fake" (ECONNREFUSED); check the address in the kubeconfig and that the cluster is up`);
    expect(err!.exitCode).toBe(4);
    server = await startFakeApiServer();
  });

  it('GIVEN a missing kubeconfig or context THEN the message says which', () => {
    expect(() => connectCluster(join(dir, 'nope.yaml'))).toThrow(`kubeconfig ${join(dir, 'nope.yaml')} does not exist; pass --kubeconfig with the site cluster's kubeconfig`);
    expect(() => connectCluster(kubeconfig(), 'other')).toThrow(`kubeconfig ${join(dir, 'kubeconfig-ok.json')} has no context "other"; it has: jinbao-fake`);
  });
});

function withClass(id: string, dcClass: 'A' | 'B' | 'C') {
  const inv = smallInventory();
  inv.sites.find((s) => s.id === id)!.dataCenter = { class: dcClass, meetsStandard: true };
  return inv;
}
