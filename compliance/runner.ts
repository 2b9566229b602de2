import { spawn, spawnSync } from 'node:child_process';
import { CATALOGUE, type Control } from './catalogue.js';
import type { CheckEnv, ComplianceInputs, ToolRunner } from './inputs.js';
import { STATUSES, type ComplianceReport, type ControlInfo, type ControlResult, type Finding, type Provenance, type Status } from './model.js';
import { notRun } from './checks/verdict.js';
import { COMPLIANCE_MESSAGES, type Said, said, sayIn } from './message.js';
import { inputError } from '../lib/i18n/index.js';

export interface RunOptions {
  /** Limit the run to one site's controls (site-scoped controls only). */
  readonly site?: string;
  readonly catalogue?: readonly Control[];
  readonly tools?: ToolRunner;
}

/** Real tools from PATH. */
export const systemTools: ToolRunner = {
  available(tool) {
    return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' }).status === 0;
  },
  run(tool, args, opts = {}) {
    return new Promise((resolve, reject) => {
      const child = spawn(tool, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(opts.input ?? '');
    });
  },
};

/** The status of a control from its findings: any fail fails; else any not-run; else manual; else pass. */
export function aggregate(findings: readonly Finding[]): Status {
  if (findings.length === 0) return 'not-run';
  for (const s of ['fail', 'not-run', 'manual'] as const) if (findings.some((f) => f.status === s)) return s;
  return 'pass';
}

/** Run every control of the catalogue over the inputs; never throws for a failing or unrunnable check. */
export async function runCatalogue(inputs: ComplianceInputs, opts: RunOptions = {}): Promise<ComplianceReport> {
  const fabric = inputs.fabric;
  if (opts.site !== undefined && !fabric.has(opts.site)) {
    throw inputError(COMPLIANCE_MESSAGES, 'runner.unknownSite', { site: opts.site });
  }
  const catalogue = (opts.catalogue ?? CATALOGUE).filter((c) => opts.site === undefined || c.scope === 'site');
  const env: CheckEnv = { sites: opts.site === undefined ? fabric.sites : [fabric.site(opts.site)], tools: opts.tools ?? systemTools };
  const results: ControlResult[] = [];
  for (const control of catalogue) {
    const findings = await runOne(control, inputs, env);
    if (opts.site !== undefined && findings.length === 0) continue; // the control does not apply to this site
    const { check: _check, ...info } = control;
    results.push({
      control: info,
      status: aggregate(findings),
      findings: findings.length === 0 ? [notRun('nothing to inspect: no site in scope is subject to this control')] : findings,
    });
  }
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, results.filter((r) => r.status === s).length])) as Record<Status, number>;
  const bindingNotPassed = results.filter((r) => r.control.binding && r.status !== 'pass').map((r) => r.control.id);
  return {
    generatedAt: inputs.now.toISOString(),
    inventory: { name: fabric.inventory.metadata.name, sampleData: fabric.sampleData },
    ...(opts.site === undefined ? {} : { site: opts.site }),
    results,
    summary: { controls: results.length, byStatus, bindingNotPassed, compliant: bindingNotPassed.length === 0 },
  };
}

async function runOne(control: Control, inputs: ComplianceInputs, env: CheckEnv): Promise<readonly Finding[]> {
  const feature = control.inspects;
  if (feature !== 'fabric' && feature !== 'kpi' && feature !== 'attestation' && inputs[feature] === undefined) {
    return [notRun(inputs.missing?.[feature] ?? said('runner.needsState', { feature }))];
  }
  if (control.requires && !env.tools.available(control.requires.tool)) {
    const r = control.requires;
    return [notRun(said('runner.needsTool', { tool: r.tool, pkg: r.debianPackage }))];
  }
  let findings: readonly Finding[];
  try {
    findings = await control.check(inputs, env);
  } catch (err) {
    return [notRun(said('runner.crashed', { message: (err as Error).message }))];
  }
  const kind = defaultProvenance(control, inputs);
  return findings.map((f) => judgeProof(control, { ...f, evidence: f.evidence.map((e) => (e.provenance ? e : { ...e, provenance: kind })) }));
}

/** What the evidence of a control is, unless its check says otherwise per piece. */
function defaultProvenance(control: ControlInfo, inputs: ComplianceInputs): Provenance {
  switch (control.inspects) {
    case 'fabric':
    case 'kpi':
    case 'attestation':
      return 'declared';
    case 'stacks':
    case 'wan':
    case 'monitoring':
      return 'derived';
    case 'pki':
    case 'operators':
      // operators authenticate with certificates from the hierarchy: a demo one proves nothing
      return inputs.pki?.provenance ?? 'observed';
    case 'audit':
    case 'drills':
      return 'observed';
  }
}

/** What would prove a control, said in the catalogue's words when it is one of its texts (catalogue.ts's `prove`). */
function proveSaid(prove: string, site: string): Said | string {
  for (const key of ['prove.productionPki', 'prove.realPairDrill']) {
    const s = said(key, { site });
    if (sayIn('en', s) === prove.replaceAll('SITE', site)) return s;
  }
  return prove.replaceAll('SITE', site);
}

/** A pass resting on evidence of a kind the control does not accept is not proven: not-run, with what would prove it. */
export function judgeProof(control: Pick<ControlInfo, 'proof'>, f: Finding): Finding {
  if (f.status !== 'pass' || !control.proof) return f;
  const accepts = control.proof.accepts;
  const weak = [...new Set(f.evidence.map((e) => e.provenance ?? 'declared').filter((p) => !accepts.includes(p)))];
  if (weak.length === 0) return f;
  const site = f.site === undefined ? '' : f.site;
  const why = weak.map((p) => said(`runner.why.${p}`));
  const message = said('runner.notProven', { message: f.said ?? f.message, why, prove: proveSaid(control.proof.prove, site) });
  return { ...f, status: 'not-run', message: sayIn('en', message), said: message };
}
