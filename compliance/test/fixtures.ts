import { validateInventory, type Fabric, type InventoryInput } from '../../fabric/index.js';
import { gatherInputs } from '../gather.js';
import type { AuditEvidence, ComplianceInputs, DrillEvidence, KubeObject, PkiEvidence, StacksEvidence, ToolRunner, WanEvidence } from '../inputs.js';

type SiteInput = InventoryInput['sites'][number];

export const NOW = new Date('2026-11-26T12:00:00Z');
export const DAY = 86_400_000;
export const daysAgo = (n: number) => new Date(NOW.getTime() - n * DAY);
export const daysAhead = (n: number) => new Date(NOW.getTime() + n * DAY);

const outlets = () => ({
  street: { total: 10, connected: 10 },
  community: { total: 10, connected: 10 },
  township: { total: 10, connected: 10 },
  hospital: { total: 10, connected: 10 },
  pharmacy: { total: 10, connected: 10 },
});

function site(id: string, tier: SiteInput['tier'], over: Partial<SiteInput> = {}): SiteInput {
  return {
    id,
    tier,
    name: `site ${id}`,
    slug: `s${id}`,
    ...(tier === 'ministry' ? {} : { parent: tier === 'province' ? '000000' : `${id.slice(0, 2)}0000` }),
    dataCenter: { class: 'B', meetsStandard: true },
    staff: { total: 100, requiringCertificates: 80 },
    backbone: true,
    serviceAgencies: { total: 10, connected: 10 },
    accessPlatforms: [{ code: `${id.slice(0, 4)}99`, name: 'county', connected: true, outlets: outlets() }],
    ...(tier === 'prefecture'
      ? { programmes: { socialSecurityCard: true, crossRegionTransfer: true, crossRegionRetiree: true, crossRegionMedical: true }, socialSecurityCardHolders: 400_000_000 }
      : {}),
    ...(tier === 'province' ? { ingestion: { businessExchangePct: 95, fundFinancialPct: 85, personnelFilingPct: 75 } } : {}),
    ...over,
  };
}

/**
 * A small fabric that passes every fabric-level control: the ministry's DR center sits at a
 * prefecture (440300), so both provinces get an independent second line.
 */
export function compliantInventory(): InventoryInput {
  return {
    apiVersion: 'jinbao/v1',
    kind: 'Inventory',
    metadata: { name: 'small-compliant' },
    sites: [
      site('000000', 'ministry', { dr: { site: '440300' } }),
      site('110000', 'province', { dr: { site: '440000' } }),
      site('440000', 'province', { dr: { site: '110000' } }),
      site('440100', 'prefecture'),
      site('440300', 'prefecture'),
    ],
  };
}

export function fabricOf(inv: InventoryInput): Fabric {
  const r = validateInventory(inv, 'test');
  if (!r.fabric) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.fabric;
}

/** The objects of a well-formed site stack: namespaces with default-deny, the three administrators. */
export function siteObjects(namespaces = ['exchange', 'employment']): KubeObject[] {
  const objs: KubeObject[] = [];
  for (const ns of namespaces) {
    objs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    objs.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: ns }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } });
  }
  for (const role of ['system', 'security', 'audit'] as const) {
    objs.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `jinbao-${role}-admin`, labels: { 'jinbao.io/admin-role': role } },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: role === 'audit' ? ['get', 'list', 'watch'] : ['*'] }],
    });
    objs.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `jinbao-${role}-admin` },
      roleRef: { kind: 'ClusterRole', name: `jinbao-${role}-admin` },
      subjects: [{ kind: 'Group', name: `${role}-admins` }],
    });
  }
  return objs;
}

export function stacksFor(fabric: Fabric): StacksEvidence {
  return { objectsBySite: new Map(fabric.sites.map((s) => [s.id, siteObjects()])), origin: 'test stacks' };
}

export function pkiFor(fabric: Fabric): PkiEvidence {
  const cert = (serial: string, profile: string, siteId?: string) => ({
    serial,
    profile,
    subject: `CN=${profile} ${siteId ?? ''}`,
    ...(siteId ? { site: siteId } : {}),
    caId: 'sm2-issuing',
    notBefore: daysAgo(10),
    notAfter: daysAhead(355),
    status: 'active',
  });
  return {
    provenance: 'observed',
    provenanceDetail: 'production hierarchy: no passphrase is stored in the state directory',
    authorities: [
      { id: 'sm2-root', algorithm: 'sm2', notAfter: daysAhead(3650), status: 'active' },
      { id: 'sm2-issuing', algorithm: 'sm2', parent: 'sm2-root', notAfter: daysAhead(1800), status: 'active' },
    ],
    certificates: [cert('01', 'staff-auth'), ...fabric.sites.filter((s) => s.dr).map((s, i) => cert(`1${i}`, 'replica-mtls', s.id))],
  };
}

export const goodAudit = (): AuditEvidence => ({ verified: true, entries: 42, oldestAt: daysAgo(3), genesisRetained: true, appendOnly: true });

export function drillsFor(fabric: Fabric): DrillEvidence {
  return {
    runs: fabric.sites
      .filter((s) => s.dr)
      .map((s, i) => ({ id: `run-${i}`, site: s.id, target: 'pg', replicationTls: 'mutual-tls' as const, finishedAt: daysAgo(5), passed: true, rtoSeconds: 30, rpoSeconds: 0 })),
  };
}

export function wanFor(fabric: Fabric): WanEvidence {
  const drNode = fabric.ministry.dr ? `dr:${fabric.ministry.dr.site}` : undefined;
  const links = fabric.byTier('province').flatMap((p) => [{ from: p.id, to: '000000', role: 'uplink' }, ...(drNode ? [{ from: p.id, to: drNode, role: 'uplink' }] : [])]);
  return { links, ...(drNode ? { ministryDrNode: drNode } : {}), acl: { defaultAction: 'drop', rules: [{ from: '440100', to: '440000', action: 'accept', purpose: 'exchange' }] }, origin: 'test wan' };
}

/** A tool runner that claims `present` tools exist and answers with `answer`. */
export function fakeTools(present: readonly string[], answer: { code: number; stdout?: string; stderr?: string } = { code: 0 }): ToolRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    available: (t) => present.includes(t),
    run: async (t, args) => {
      calls.push([t, ...args]);
      return { code: answer.code, stdout: answer.stdout ?? '', stderr: answer.stderr ?? '' };
    },
  };
}

/** Inputs under which every automated control passes (monitoring rules given separately). */
export function compliantInputs(over: Partial<ComplianceInputs> = {}, inv = compliantInventory()): ComplianceInputs {
  const fabric = fabricOf(inv);
  const base = gatherInputs({
    fabric,
    now: NOW,
    live: {
      staffCertificates: new Map(fabric.sites.map((s) => [s.id, 90])),
      mlps3Applications: { total: 10, withCertificates: 10 },
      recentPassedDrills: new Set(fabric.sites.filter((s) => s.dr).map((s) => s.id)),
    },
    parts: { stacks: stacksFor(fabric), pki: pkiFor(fabric), audit: goodAudit(), operators: { localOnly: false, active: 3, missingRoles: [], violations: [], secondFactor: { administrators: 3, without: [] } }, drills: drillsFor(fabric), wan: wanFor(fabric) },
  });
  return { ...base, ...over };
}
