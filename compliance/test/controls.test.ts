import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CATALOGUE } from '../catalogue.js';
import type { ComplianceInputs, KubeObject, ToolRunner } from '../inputs.js';
import { runCatalogue } from '../runner.js';
import { compliantInputs, compliantInventory, daysAgo, goodAudit, daysAhead, fabricOf, fakeTools, siteObjects } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'jinbao-controls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rulesFile = join(dir, 'alerts.yml');
writeFileSync(rulesFile, ['JinbaoCertificateExpiringSoon', 'JinbaoDrillTooOld', 'JinbaoWanLinkDown', 'JinbaoReplicationLagAboveRpo'].map((a) => `  - alert: ${a}`).join('\n'));

const okTools = fakeTools(['openssl', 'promtool']);

async function run(id: string, inputs: ComplianceInputs, tools: ToolRunner = okTools) {
  const control = CATALOGUE.find((c) => c.id === id);
  if (!control) throw new Error(`no control ${id}`);
  const report = await runCatalogue(inputs, { catalogue: [control], tools });
  return report.results[0]!;
}

const withRules = (over: Partial<ComplianceInputs> = {}) => compliantInputs({ monitoring: { ruleFiles: [rulesFile] }, pki: undefined, ...over });

/** Inputs with one site's stack objects replaced. */
function withStack(objects: KubeObject[], site = '440100'): ComplianceInputs {
  const base = compliantInputs();
  const map = new Map(base.stacks!.objectsBySite);
  map.set(site, objects);
  return { ...base, stacks: { objectsBySite: map, origin: 'test stacks' } };
}

function pkiWith(edit: (p: NonNullable<ComplianceInputs['pki']>) => NonNullable<ComplianceInputs['pki']>): ComplianceInputs {
  const base = compliantInputs();
  return { ...base, pki: edit(base.pki!) };
}

describe('every control passes on compliant inputs and fails on a broken one', () => {
  it('GIVEN the compliant fixture WHEN the whole catalogue runs THEN every automated control passes and the two-factor control is manual', async () => {
    const inputs = compliantInputs({ monitoring: { ruleFiles: [rulesFile] }, pki: { ...compliantInputs().pki!, sm2Chain: { rootPem: 'r', intermediatesPem: 'i', leafPem: 'l' } } });
    const report = await runCatalogue(inputs, { tools: okTools });
    const notPassing = report.results.filter((r) => r.status !== 'pass').map((r) => `${r.control.id}:${r.status}`);
    expect(notPassing).toEqual(['MLPS-IAM-01:manual']);
    expect(report.summary.compliant).toBe(true);
  });

  it('MLPS-GRADE-01 fails for a site graded level 2', async () => {
    const inv = compliantInventory();
    inv.sites[3] = { ...inv.sites[3]!, mlpsLevel: 2 };
    const r = await run('MLPS-GRADE-01', compliantInputs({}, inv));
    expect(r.status).toBe('fail');
    expect(r.findings.find((f) => f.status === 'fail')?.message).toBe('site 440100 is graded level 2, want 3 or above');
  });

  it('MLPS-NET-01 fails when the ministry DR center is hosted by a province (its own second line is not independent)', async () => {
    expect((await run('MLPS-NET-01', compliantInputs())).status).toBe('pass');
    const inv = compliantInventory();
    inv.sites[0] = { ...inv.sites[0]!, dr: { site: '110000' } };
    const r = await run('MLPS-NET-01', compliantInputs({}, inv));
    expect(r.status).toBe('fail');
    expect(r.findings.filter((f) => f.status === 'fail').map((f) => f.message)).toEqual([
      'site 110000: the ministry DR center is at this province itself, so its second line is not independent',
    ]);
  });

  it('MLPS-NET-01 fails when a province has no backbone uplink or the ministry has no DR center', async () => {
    const inv = compliantInventory();
    inv.sites[0] = { ...inv.sites[0]!, dr: undefined };
    inv.sites[1] = { ...inv.sites[1]!, backbone: false };
    const r = await run('MLPS-NET-01', compliantInputs({}, inv));
    expect(r.findings.find((f) => f.site === '110000')?.message).toBe('site 110000: no backbone uplink to the ministry core; no second uplink: the ministry has no DR center');
  });

  it('MLPS-NET-02 fails when a province lacks its uplink to the ministry DR node', async () => {
    expect((await run('MLPS-NET-02', compliantInputs())).status).toBe('pass');
    const base = compliantInputs();
    const links = base.wan!.links.filter((l) => !(l.from === '440000' && l.to.startsWith('dr:')));
    const r = await run('MLPS-NET-02', { ...base, wan: { ...base.wan!, links } });
    expect(r.status).toBe('fail');
    expect(r.findings.find((f) => f.status === 'fail')?.message).toBe('site 440000: no uplink to ministry DR center dr:440300');
  });

  it('MLPS-BND-01 fails on a default-accept WAN and on a prefecture ↔ prefecture rule', async () => {
    expect((await run('MLPS-BND-01', compliantInputs())).status).toBe('pass');
    const base = compliantInputs();
    const open = await run('MLPS-BND-01', { ...base, wan: { ...base.wan!, acl: { ...base.wan!.acl, defaultAction: 'accept' } } });
    expect(open.findings[0]!.message).toBe('the WAN forwards by default (default action "accept"), want "drop"');
    const lateral = await run('MLPS-BND-01', { ...base, wan: { ...base.wan!, acl: { defaultAction: 'drop', rules: [{ from: '440100', to: '440300', action: 'accept' }] } } });
    expect(lateral.status).toBe('fail');
    expect(lateral.findings[0]!.message).toBe('1 rule(s) let a prefecture reach another prefecture directly');
  });

  it('MLPS-BND-02 fails when a namespace only denies ingress', async () => {
    expect((await run('MLPS-BND-02', compliantInputs())).status).toBe('pass');
    const objects = siteObjects().map((o) =>
      o.kind === 'NetworkPolicy' && o.metadata.namespace === 'employment' ? { ...o, spec: { podSelector: {}, policyTypes: ['Ingress'] } } : o,
    );
    const r = await run('MLPS-BND-02', withStack(objects));
    expect(r.findings.find((f) => f.status === 'fail')?.message).toBe('site 440100: employment (egress not denied by default)');
  });

  it('MLPS-BND-02 does not count a policy that selects only some pods or allows traffic', async () => {
    const objects = siteObjects(['exchange']).map((o) =>
      o.kind === 'NetworkPolicy' ? { ...o, spec: { podSelector: { matchLabels: { app: 'x' } }, policyTypes: ['Ingress', 'Egress'] } } : o,
    );
    const r = await run('MLPS-BND-02', withStack(objects));
    expect(r.findings.find((f) => f.status === 'fail')?.message).toBe('site 440100: exchange (ingress and egress not denied by default)');
  });

  it('MLPS-BND-02 and MLPS-IAM-02 fail for a site with no synthesized stack', async () => {
    const base = compliantInputs();
    const map = new Map(base.stacks!.objectsBySite);
    map.delete('440300');
    const inputs = { ...base, stacks: { objectsBySite: map, origin: 'test' } };
    expect((await run('MLPS-BND-02', inputs)).findings.find((f) => f.status === 'fail')?.message).toBe('no synthesized stack for site 440300');
    expect((await run('MLPS-IAM-02', inputs)).findings.find((f) => f.status === 'fail')?.message).toBe('no synthesized stack for site 440300');
  });

  it('MLPS-IAM-01 is manual and never sets the exit code', async () => {
    const r = await run('MLPS-IAM-01', compliantInputs());
    expect(r.status).toBe('manual');
    expect(r.control.binding).toBe(false);
  });

  it('MLPS-IAM-02 fails when one group holds two administrator roles', async () => {
    expect((await run('MLPS-IAM-02', compliantInputs())).status).toBe('pass');
    const objects = siteObjects().map((o) =>
      o.kind === 'ClusterRoleBinding' && o.metadata.name === 'jinbao-audit-admin' ? { ...o, subjects: [{ kind: 'Group', name: 'system-admins' }] } : o,
    );
    const r = await run('MLPS-IAM-02', withStack(objects));
    expect(r.findings.find((f) => f.status === 'fail')?.message).toBe('site 440100: Group:system-admins holds audit + system administrator roles');
  });

  it('MLPS-IAM-02 fails when the audit administrator may write, or a role is missing', async () => {
    const writable = siteObjects().map((o) => (o.kind === 'ClusterRole' && o.metadata.name === 'jinbao-audit-admin' ? { ...o, rules: [{ verbs: ['get', 'delete'] }] } : o));
    expect((await run('MLPS-IAM-02', withStack(writable))).findings.find((f) => f.status === 'fail')?.message).toBe(
      'site 440100: audit administrator ClusterRole/jinbao-audit-admin may delete; want read-only (get, list, watch)',
    );
    const noSecurity = siteObjects().filter((o) => !o.metadata.name.includes('security'));
    expect((await run('MLPS-IAM-02', withStack(noSecurity))).findings.find((f) => f.status === 'fail')?.message).toBe('site 440100: no security administrator role');
  });

  it('MLPS-IAM-03 fails with no certificates, an expired active one, or one from an unknown CA', async () => {
    expect((await run('MLPS-IAM-03', compliantInputs())).status).toBe('pass');
    expect((await run('MLPS-IAM-03', pkiWith((p) => ({ ...p, certificates: [] })))).findings[0]!.message).toBe('no active certificate has been issued; issue them with jinbao pki issue');
    const expired = await run('MLPS-IAM-03', pkiWith((p) => ({ ...p, certificates: [{ ...p.certificates[0]!, notAfter: daysAgo(1) }] })));
    expect(expired.status).toBe('fail');
    expect(expired.findings[0]!.evidence.map((e) => e.detail)).toContain('01 staff-auth "CN=staff-auth " expired on 2026-11-25T12:00:00.000Z but is still marked active');
    const orphan = await run('MLPS-IAM-03', pkiWith((p) => ({ ...p, certificates: [{ ...p.certificates[0]!, caId: 'ghost' }] })));
    expect(orphan.findings[0]!.evidence.map((e) => e.detail)).toContain('01 staff-auth "CN=staff-auth " names issuer ghost, which is not in the PKI');
  });

  it('MLPS-IAM-04 fails when an active certificate expires within 30 days, and ignores revoked ones', async () => {
    expect((await run('MLPS-IAM-04', compliantInputs())).status).toBe('pass');
    const soon = await run('MLPS-IAM-04', pkiWith((p) => ({ ...p, certificates: [{ ...p.certificates[0]!, notAfter: daysAhead(29) }] })));
    expect(soon.findings[0]!.message).toBe('1 active certificate(s) or CA(s) expire within 30 days; renew them');
    expect(soon.findings[0]!.evidence[0]!.detail).toBe('01 staff-auth "CN=staff-auth " expires 2026-12-25 (in 29 days)');
    const revoked = await run('MLPS-IAM-04', pkiWith((p) => ({ ...p, certificates: [{ ...p.certificates[0]!, notAfter: daysAhead(29), status: 'revoked' }] })));
    expect(revoked.status).toBe('pass');
  });

  it('MLPS-AUD-01 fails when the chain is broken or the log is empty', async () => {
    expect((await run('MLPS-AUD-01', compliantInputs())).status).toBe('pass');
    const broken = await run('MLPS-AUD-01', compliantInputs({ audit: { verified: false, firstBroken: 'entry 17', entries: 40, genesisRetained: true } }));
    expect(broken.findings[0]!.message).toBe('the audit chain is broken at entry 17: a record was altered, removed or reordered');
    const empty = await run('MLPS-AUD-01', compliantInputs({ audit: { verified: true, entries: 0, genesisRetained: true } }));
    expect(empty.findings[0]!.message).toBe('the audit log is empty: nothing records the security-relevant changes');
  });

  it('MLPS-AUD-02 fails for a short retention or records pruned before 180 days', async () => {
    expect((await run('MLPS-AUD-02', compliantInputs())).status).toBe('pass');
    const short = await run('MLPS-AUD-02', compliantInputs({ audit: { verified: true, entries: 5, genesisRetained: true, retentionDays: 90 } }));
    expect(short.findings[0]!.message).toBe('audit retention is 90 days, want at least 180');
    const pruned = await run('MLPS-AUD-02', compliantInputs({ audit: { verified: true, entries: 5, genesisRetained: false, oldestAt: daysAgo(100) } }));
    expect(pruned.findings[0]!.message).toBe('records were pruned and the oldest kept is 100 days old, want at least 180');
    const prunedOld = await run('MLPS-AUD-02', compliantInputs({ audit: { verified: true, entries: 5, genesisRetained: false, oldestAt: daysAgo(200), retentionDays: 365 } }));
    expect(prunedOld.status).toBe('pass');
  });

  it('MLPS-IAM-05 fails with one local operator, a missing post or a person in two posts, and passes with three people; demo certificates prove nothing', async () => {
    expect((await run('MLPS-IAM-05', compliantInputs())).status).toBe('pass');
    const local = await run('MLPS-IAM-05', compliantInputs({ operators: { localOnly: true, active: 0, missingRoles: ['system-admin', 'security-admin', 'audit-admin'], violations: [] } }));
    expect(local.findings[0]!.message).toBe('no operators: one local operator acts with every privilege; create the three administrators with jinbao operator add --role system-admin|security-admin|audit-admin');
    const missing = await run('MLPS-IAM-05', compliantInputs({ operators: { localOnly: false, active: 2, missingRoles: ['audit-admin'], violations: [] } }));
    expect(missing.findings[0]!.message).toBe('administrator roles nobody active holds: audit-admin; add them with jinbao operator add');
    const two = await run('MLPS-IAM-05', compliantInputs({ operators: { localOnly: false, active: 3, missingRoles: [], violations: ['1001: audit-admin, system-admin'] } }));
    expect(two.findings[0]!.message).toBe('administrator separation broken: 1001: audit-admin, system-admin');
    const base = compliantInputs();
    const demo = await run('MLPS-IAM-05', { ...base, pki: { ...base.pki!, provenance: 'demo' } });
    expect(demo.status).not.toBe('pass');
  });

  it('MLPS-IAM-07 passes with the default policy (one approver besides the proposer), fails with no operators or with no approver', async () => {
    const on = await run('MLPS-IAM-07', compliantInputs());
    expect(on.status).toBe('pass');
    expect(on.findings[0]!.message).toBe('dual control on: CA-level and policy-level commands wait for 1 approver(s) besides the proposer, within 24 h');
    const local = await run('MLPS-IAM-07', compliantInputs({ operators: { localOnly: true, active: 0, missingRoles: ['system-admin', 'security-admin', 'audit-admin'], violations: [] } }));
    expect(local.findings[0]!.message).toBe('no operators: one local operator acts alone, nobody approves; create the administrators with jinbao operator add and administer through the service (jinbao serve, client mode)');
    const off = await run('MLPS-IAM-07', compliantInputs({ operators: { localOnly: false, active: 3, missingRoles: [], violations: [], approvalPolicy: { approvers: 0, ttlSeconds: 3600, setBy: 'someone' } } }));
    expect(off.status).toBe('fail');
    expect(off.findings[0]!.message).toBe('dual control is off: the approval policy asks 0 approver(s) besides the proposer; want at least 1 (jinbao approvals policy --approvers 1)');
  });

  it('MLPS-IAM-06 fails with no administrator or one without a service password, and passes when every administrator has both factors; demo certificates prove nothing', async () => {
    expect((await run('MLPS-IAM-06', compliantInputs())).findings[0]!.message).toBe('3 active administrator(s), each with an operator certificate and a service password that jinbao serve requires together');
    const local = await run('MLPS-IAM-06', compliantInputs({ operators: { localOnly: true, active: 0, missingRoles: ['system-admin', 'security-admin', 'audit-admin'], violations: [], secondFactor: { administrators: 0, without: [] } } }));
    expect(local.status).toBe('fail');
    expect(local.findings[0]!.message).toContain('the one local operator authenticates with nothing');
    const without = await run('MLPS-IAM-06', compliantInputs({ operators: { localOnly: false, active: 3, missingRoles: [], violations: [], secondFactor: { administrators: 3, without: ['op-1 (audit-admin, 刘敏)'] } } }));
    expect(without.status).toBe('fail');
    expect(without.findings[0]!.message).toBe('active administrators without a service password (the service refuses them): op-1 (audit-admin, 刘敏); set one with jinbao operator password ID');
    const base = compliantInputs();
    expect((await run('MLPS-IAM-06', { ...base, pki: { ...base.pki!, provenance: 'demo' } })).status).not.toBe('pass');
  });

  it('MLPS-AUD-03 passes when the insert-only triggers are installed and fails when they are not', async () => {
    expect((await run('MLPS-AUD-03', compliantInputs())).status).toBe('pass');
    const dropped = await run('MLPS-AUD-03', compliantInputs({ audit: { ...goodAudit(), appendOnly: false } }));
    expect(dropped.status).toBe('fail');
    expect(dropped.findings[0]!.message).toContain("the audit table's insert-only triggers are missing");
  });

  it('MLPS-BAK-01 fails for a province without a DR pairing', async () => {
    expect((await run('MLPS-BAK-01', compliantInputs())).status).toBe('pass');
    const inv = compliantInventory();
    inv.sites[2] = { ...inv.sites[2]!, dr: undefined };
    inv.sites[1] = { ...inv.sites[1]!, dr: { site: '440100' } };
    const r = await run('MLPS-BAK-01', compliantInputs({}, inv));
    expect(r.findings.filter((f) => f.status === 'fail').map((f) => f.message)).toEqual(['site 440000 has no DR pairing, want an off-site DR center (sites[440000].dr)']);
  });

  it('MLPS-BAK-02 fails for a drill older than 90 days, a failed drill, or none', async () => {
    expect((await run('MLPS-BAK-02', compliantInputs())).status).toBe('pass');
    const base = compliantInputs();
    const runs = base.drills!.runs.map((r) => (r.site === '110000' ? { ...r, finishedAt: daysAgo(91) } : r.site === '440000' ? { ...r, passed: false } : r));
    const r = await run('MLPS-BAK-02', { ...base, drills: { runs: runs.filter((x) => x.site !== '000000') } });
    expect(r.findings.filter((f) => f.status === 'fail').map((f) => f.message)).toEqual([
      'site 000000: no passed drill; run jinbao drill run --site 000000 --target pg --pair FILE',
      'site 110000: last passed drill is 91 days old, want at most 90',
      'site 440000: no passed drill; run jinbao drill run --site 440000 --target pg --pair FILE',
    ]);
  });

  it('MLPS-BAK-02 does not pass on a lab drill: not proven, with what would prove it', async () => {
    const base = compliantInputs();
    const runs = base.drills!.runs.map((r) => (r.site === '110000' ? { ...r, target: 'pg-local' } : r));
    const r = await run('MLPS-BAK-02', { ...base, drills: { runs } });
    expect(r.status).toBe('not-run');
    const lab = r.findings.find((f) => f.site === '110000')!;
    expect(lab.status).toBe('not-run');
    expect(lab.message).toBe(
      'not proven: site 110000: drill passed 5 day(s) ago, but the evidence is from drills on the embedded lab (--target pg-local, both servers on this machine), not a real pair; prove it with: a drill against the real pair: jinbao drill run --site 110000 --target pg --pair FILE',
    );
    expect(lab.evidence.map((e) => e.provenance)).toEqual(['observed', 'lab']);
    expect(r.findings.filter((f) => f.status === 'pass').map((f) => f.site)).toEqual(['000000', '440000']);
  });

  it('MLPS-CRY-01 passes on mutual TLS a real-pair drill observed, and fails on a connection seen in clear or without a client certificate', async () => {
    const ok = await run('MLPS-CRY-01', compliantInputs());
    expect(ok.status).toBe('pass');
    expect(ok.findings[0]!.message).toBe('site 000000: replication to 440300 observed over mutual TLS');
    expect(ok.findings[0]!.evidence[0]).toMatchObject({ provenance: 'observed', detail: expect.stringMatching(/^run-0 on the real pair \(--target pg\), \d{4}-\d\d-\d\d: replication connection mutual-tls$/) });
    const base = compliantInputs();
    const runs = base.drills!.runs.map((r) => (r.site === '110000' ? { ...r, replicationTls: 'none' as const } : r.site === '440000' ? { ...r, replicationTls: 'tls' as const } : r));
    const r = await run('MLPS-CRY-01', { ...base, drills: { runs } });
    expect(r.findings.filter((f) => f.status === 'fail').map((f) => f.message)).toEqual([
      'site 110000: replication to 440000 runs in clear; turn on ssl and require "hostssl replication ... cert" in pg_hba.conf',
      'site 440000: replication to 110000 is encrypted but the standby presents no client certificate; require "hostssl replication ... cert" in pg_hba.conf',
    ]);
  });

  it('MLPS-CRY-01 does not pass on certificates alone, nor on mutual TLS seen only on the lab', async () => {
    const base = compliantInputs();
    const noObservation = await run('MLPS-CRY-01', { ...base, drills: { runs: [] } });
    expect(noObservation.status).toBe('not-run');
    expect(noObservation.findings[0]!.message).toBe(
      'not proven: no drill within 90 days observed the replication connection to 440300 (1 active replica-mtls certificate(s) on file, which alone prove nothing); observe it with: jinbao drill run --site 000000 --target pg --pair FILE',
    );
    const lab = await run('MLPS-CRY-01', { ...base, drills: { runs: base.drills!.runs.map((r) => ({ ...r, target: 'pg-local' })) } });
    expect(lab.status).toBe('not-run');
    expect(lab.findings[0]!.message).toBe(
      'not proven: site 000000: replication to 440300 observed over mutual TLS, but the evidence is from drills on the embedded lab (--target pg-local, both servers on this machine), not a real pair; prove it with: a drill against the real pair: jinbao drill run --site 000000 --target pg --pair FILE',
    );
  });

  it('PKI controls do not pass on the demo hierarchy: not proven, naming the production hierarchy that would prove it', async () => {
    const demo = pkiWith((p) => ({ ...p, provenance: 'demo', provenanceDetail: 'demo hierarchy' }));
    for (const id of ['MLPS-IAM-03', 'MLPS-IAM-04', 'GM-CRY-01']) {
      const r = await run(id, demo);
      expect(r.status, id).toBe('not-run');
      expect(r.findings[0]!.message, id).toMatch(
        /^not proven: .*, but the evidence is from the demo PKI that jinbao up creates \(its passphrase is stored beside the keys\); prove it with: a production hierarchy: jinbao --state DIR pki init with the passphrase in --passphrase-env/,
      );
      expect(r.findings[0]!.evidence.every((e) => e.provenance === 'demo'), id).toBe(true);
    }
  });

  it('GM-CRY-01 fails without an SM2 root, or with a root but no issuing CA', async () => {
    expect((await run('GM-CRY-01', compliantInputs())).status).toBe('pass');
    const ecdsa = await run('GM-CRY-01', pkiWith((p) => ({ ...p, authorities: p.authorities.map((a) => ({ ...a, algorithm: 'ecdsa-p256' })) })));
    expect(ecdsa.findings[0]!.message).toBe('no active SM2 root CA; create one with jinbao pki init --algorithm sm2');
    const rootOnly = await run('GM-CRY-01', pkiWith((p) => ({ ...p, authorities: p.authorities.filter((a) => a.parent === undefined) })));
    expect(rootOnly.findings[0]!.message).toBe('SM2 root sm2-root has no active SM2 issuing CA under it');
  });

  it('GM-CRY-02 passes when openssl verifies, fails when it rejects, and is not run without openssl', async () => {
    const inputs = pkiWith((p) => ({ ...p, sm2Chain: { rootPem: 'root', intermediatesPem: 'inter', leafPem: 'leaf' } }));
    const ok = fakeTools(['openssl'], { code: 0, stdout: 'leaf.pem: OK' });
    expect((await run('GM-CRY-02', inputs, ok)).status).toBe('pass');
    expect(ok.calls.map((c) => c.slice(0, 4))).toEqual([
      ['openssl', 'verify', '-vfyopt', 'distid:1234567812345678'],
      ['openssl', 'verify', '-vfyopt', 'distid:1234567812345678'],
    ]);
    const bad = await run('GM-CRY-02', inputs, fakeTools(['openssl'], { code: 2, stderr: 'error 7 at 0 depth lookup: certificate signature failure' }));
    expect(bad.status).toBe('fail');
    expect(bad.findings[0]!.evidence[0]!.detail).toBe('openssl verify -vfyopt distid:1234567812345678 -CAfile root.pem inter.pem → exit 2: error 7 at 0 depth lookup: certificate signature failure');
    const absent = await run('GM-CRY-02', inputs, fakeTools([]));
    expect(absent.status).toBe('not-run');
    expect(absent.findings[0]!.message).toBe('needs openssl, which is not installed: install the Debian package "openssl" (apt-get install --no-install-recommends openssl)');
  });

  it('MLPS-MON-01 fails when promtool rejects the rules or an alert is missing, and is not run without promtool', async () => {
    expect((await run('MLPS-MON-01', withRules())).status).toBe('pass');
    const rejected = await run('MLPS-MON-01', withRules(), fakeTools(['promtool'], { code: 1, stdout: 'Checking alerts.yml\n  FAILED:\nbad expr' }));
    expect(rejected.findings[0]!.message).toBe('promtool rejects the rendered rules');
    const partial = join(dir, 'partial.yml');
    writeFileSync(partial, '  - alert: JinbaoDrillTooOld\n');
    const missing = await run('MLPS-MON-01', withRules({ monitoring: { ruleFiles: [partial] } }));
    expect(missing.findings[0]!.message).toBe('alerting rules lack JinbaoCertificateExpiringSoon, JinbaoWanLinkDown, JinbaoReplicationLagAboveRpo');
    const absent = await run('MLPS-MON-01', withRules(), fakeTools([]));
    expect(absent.findings[0]!.message).toBe('needs promtool, which is not installed: install the Debian package "prometheus" (apt-get install --no-install-recommends prometheus)');
  });

  it('each PLAN control passes when its indicator is met and fails when not', async () => {
    expect((await run('PLAN-dc-standard-prefecture', compliantInputs())).status).toBe('pass');
    const inv = compliantInventory();
    inv.sites[4] = { ...inv.sites[4]!, dataCenter: { class: 'C', meetsStandard: false } };
    const r = await run('PLAN-dc-standard-prefecture', compliantInputs({}, inv));
    expect(r.status).toBe('fail');
    expect(r.findings[0]!.message).toBe('50.0% does not meet ≥ 100%');
    expect(r.findings[0]!.evidence[0]!.detail).toBe('Prefecture data centers meeting the national standard: actual 50.0% (1 of 2), target ≥ 100%');
  });

  it('the card-holder control compares people in 亿人 with the plan\'s 8 亿', async () => {
    expect((await run('PLAN-social-security-card-holders', compliantInputs())).findings[0]!.message).toBe('8.00 亿人 meets ≥ 8 亿人');
    const inv = compliantInventory();
    inv.sites[4] = { ...inv.sites[4]!, socialSecurityCardHolders: 399_000_000 };
    const r = await run('PLAN-social-security-card-holders', compliantInputs({}, inv));
    expect(r.status).toBe('fail');
    expect(r.control.binding).toBe(true);
    expect(r.findings[0]!.message).toBe('7.99 亿人 does not meet ≥ 8 亿人');
  });

  it('a PLAN control whose indicator needs live state is not run, naming what it needs', async () => {
    const fabric = fabricOf(compliantInventory());
    const { gatherInputs } = await import('../gather.js');
    const r = await run('PLAN-staff-certificates', gatherInputs({ fabric }));
    expect(r.status).toBe('not-run');
    expect(r.findings[0]!.message).toBe('needs staff certificates from the PKI (jinbao pki issue)');
  });
});
