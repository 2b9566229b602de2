import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatherInputs, noPki, noStateStore, type AuditEvidence, type DrillEvidence, type WanAclRule, type WanEvidence, type ComplianceInputs, type Inspects, type KubeObject, type PkiEvidence, type Said, type StacksEvidence } from '../compliance/index.js';
import { loadLedger, MINISTRY_ID, type Fabric, type SiteAllocation } from '../fabric/index.js';
import { auditAppendOnly, readAudit, verifyAudit } from '../lib/audit.js';
import type { Database } from '../lib/sql/index.js';
import { certificateSummaries, pkiProvenance, toPem } from '../pki/index.js';
import { openPki } from '../pki/operations.js';
import { administratorsWithoutPassword, approvalPolicy, operatorSeparation } from '../operators/index.js';
import { renderSite } from '../stacks/index.js';
import { DrillHistory } from '../dr-runbooks/index.js';
import { aclFlows, ALL, buildPlan, drNodeId, indexFlows, isPairLink, planConfigs, renderNftables } from '../network/index.js';
import { writeMonitoring } from '../monitoring/operations.js';
import type { OpsContext } from './context.js';
import { gatherLiveFacts } from './live-facts.js';

/**
 * The thin adapter between the features' public APIs and the compliance checks: reads each
 * feature's state, maps it to the checks' typed inputs, and says why a part is missing.
 */
export async function gatherCompliance(ctx: OpsContext): Promise<{ inputs: ComplianceInputs; cleanup: () => void }> {
  const fabric = ctx.fabric();
  // A corrupt or newer store is refused here, before any check runs.
  const db = ctx.hasStore() ? await ctx.database() : undefined;
  const noState = noStateStore(ctx.stateDir);
  const missing: Partial<Record<Inspects, string | Said>> = {};
  const cleanups: (() => void)[] = [];
  const rulesDir = mkdtempSync(join(tmpdir(), 'jinbao-rules-'));
  cleanups.push(() => rmSync(rulesDir, { recursive: true, force: true }));
  const ruleFiles = writeMonitoring(rulesDir).filter((f) => f.endsWith('.rules.yml'));

  const { allocations } = fabric.allocate(db ? await loadLedger(db) : undefined);
  const parts: Partial<ComplianceInputs> = { monitoring: { ruleFiles }, stacks: stacksEvidence(fabric, allocations), wan: wanEvidence(fabric, allocations) };
  if (db) {
    const pki = await pkiEvidence(ctx);
    if (pki) Object.assign(parts, { pki });
    else missing.pki = noPki(ctx.stateDir);
    Object.assign(parts, { audit: await auditEvidence(db), operators: { ...(await operatorSeparation(ctx)), approvalPolicy: await approvalPolicy(ctx), secondFactor: await administratorsWithoutPassword(ctx) }, drills: await drillEvidence(db) });
  } else {
    missing.pki = noState;
    missing.audit = noState;
    missing.operators = noState;
    missing.drills = noState;
  }
  const inputs = gatherInputs({ fabric, live: await gatherLiveFacts(ctx), parts, missing });
  return { inputs, cleanup: () => cleanups.forEach((c) => c()) };
}

/** Every site's objects, rendered by the same pure renderer `jinbao synth` uses, on the recorded addresses. */
function stacksEvidence(fabric: Fabric, allocations: ReadonlyMap<string, SiteAllocation>): StacksEvidence {
  const objectsBySite = new Map<string, readonly KubeObject[]>();
  for (const site of fabric.sites) objectsBySite.set(site.id, renderSite(fabric, site, allocations) as unknown as KubeObject[]);
  return { objectsBySite, origin: 'stacks (renderSite, the objects jinbao synth writes)' };
}

async function pkiEvidence(ctx: OpsContext): Promise<PkiEvidence | undefined> {
  const pki = await openPki(ctx);
  const cas = await pki.listCas();
  if (cas.length === 0) return undefined;
  const certificates = await certificateSummaries(pki);
  const origin = await pkiProvenance(pki);
  const evidence: PkiEvidence = {
    provenance: origin.kind === 'demo' ? 'demo' : 'observed',
    provenanceDetail: origin.detail,
    authorities: cas.map((a) => ({ id: a.id, algorithm: a.algorithm, ...(a.parentId ? { parent: a.parentId } : {}), notAfter: a.notAfter, status: a.status })),
    certificates: certificates.map((c) => ({ serial: c.serial, profile: c.profile, subject: c.subject, site: c.site, caId: c.caId, notBefore: c.notBefore, notAfter: c.notAfter, status: c.status })),
  };
  // an SM2 leaf with its issuing CA and root, for the independent OpenSSL check
  const now = Date.now();
  for (const issuing of cas.filter((a) => a.algorithm === 'sm2' && a.parentId && a.status === 'active')) {
    const root = cas.find((a) => a.id === issuing.parentId);
    const found = certificates.find((c) => c.caId === issuing.id && c.status === 'active' && c.notAfter.getTime() > now);
    const leaf = found && (await pki.findCertificate(found.serial));
    if (root && leaf) return { ...evidence, sm2Chain: { rootPem: toPem(root.der), intermediatesPem: toPem(issuing.der), leafPem: toPem(leaf.der) } };
  }
  return evidence;
}

async function auditEvidence(db: Database): Promise<AuditEvidence> {
  const v = await verifyAudit(db);
  const [first] = await readAudit(db, { limit: 1 });
  return {
    verified: v.ok,
    ...(v.firstBroken ? { firstBroken: `entry ${v.firstBroken.seq} (${v.firstBroken.reason})` } : {}),
    entries: v.entries,
    ...(first ? { oldestAt: new Date(first.at) } : {}),
    genesisRetained: first === undefined || first.seq === 1,
    appendOnly: await auditAppendOnly(db),
  };
}

/**
 * The WAN overlay plan `jinbao wan render` writes: spoke → hub links, and the policy's flows as
 * accept rules; the default action is read from the core hub's rendered nftables rule set.
 */
function wanEvidence(fabric: Fabric, allocations: ReadonlyMap<string, SiteAllocation>): WanEvidence {
  const plan = buildPlan(fabric, allocations);
  const flows = aclFlows(plan);
  const siteNodes = [...plan.nodes.keys()].filter((id) => fabric.has(id));
  const expand = (side: readonly string[] | typeof ALL, other: readonly string[] | typeof ALL): readonly string[] =>
    side !== ALL ? side : other !== ALL && other.some((id) => fabric.findSite(id)?.tier === 'prefecture') ? siteNodes : ['all'];
  const rules: WanAclRule[] = [];
  for (const f of flows)
    for (const from of expand(f.from, f.to)) for (const to of expand(f.to, f.from)) rules.push({ from, to, action: 'accept', purpose: f.rule });
  const core = planConfigs(plan, undefined, flows).get(MINISTRY_ID);
  const nft = core ? renderNftables(plan, core, indexFlows(flows)).content : '';
  const drops = nft.split('\n').filter((l) => /^\s*counter drop\b/.test(l)).length;
  const ministryDr = drNodeId(MINISTRY_ID);
  return {
    links: plan.links.map((l) => ({ from: l.spoke, to: l.hub, role: isPairLink(l) ? l.kind : 'uplink' })),
    ...(plan.nodes.has(ministryDr) ? { ministryDrNode: ministryDr } : {}),
    acl: { defaultAction: drops >= 2 ? 'drop' : 'accept', rules },
    origin: `network (overlay plan: ${plan.nodes.size} nodes, ${plan.links.length} links; core nftables ${drops >= 2 ? 'ends input and forward in drop' : 'does not end in drop'})`,
  };
}

/** Finished drills from the drill history (dr-runbooks/); running ones are not evidence yet. */
async function drillEvidence(db: Database): Promise<DrillEvidence> {
  const history = await DrillHistory.open(db);
  const runs: DrillEvidence['runs'][number][] = [];
  for (const r of await history.list({ limit: 1_000_000 })) {
    if (r.finishedAt === undefined || r.result === 'running') continue;
    const replicationTls = await history.replicationTls(r.id);
    runs.push({
      id: r.id,
      site: r.site,
      finishedAt: new Date(r.finishedAt),
      passed: r.result === 'passed',
      scenario: r.scenario,
      target: r.target,
      ...(replicationTls === undefined ? {} : { replicationTls }),
      ...(r.rtoMs === undefined ? {} : { rtoSeconds: r.rtoMs / 1000 }),
      ...(r.rpoRows === undefined ? {} : { rpoRows: r.rpoRows }),
    });
  }
  return { runs };
}
