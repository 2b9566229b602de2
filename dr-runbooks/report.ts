import { JinbaoError } from '../lib/errors.js';
import type { StepsOutcome } from './engine.js';
import { canonicalJson, sha256Hex, type EvidenceSignature, type EvidenceSigner, type EvidenceVerifier } from './evidence.js';
import type { DrillEvent, DrillRequest, DrillResult, MarkName, ProbeCounts } from './model.js';

export const REPORT_FORMAT = 'jinbao-drill-report/v1';

export type Verdict = 'met' | 'not-met' | 'not-measured';

export interface StepRecord {
  readonly name: string;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
  readonly ok: boolean;
  readonly detail?: string;
  readonly phases: readonly { readonly phase: string; readonly ok: boolean; readonly at: string; readonly detail?: string }[];
  readonly rollback?: { readonly ok: boolean; readonly at: string; readonly detail?: string };
}

export interface DrillReportBody {
  readonly format: typeof REPORT_FORMAT;
  readonly runId: string;
  readonly request: DrillRequest;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly result: DrillResult;
  readonly reasons: readonly string[];
  readonly objectives: { readonly rtoSeconds: number; readonly rpoSeconds: number };
  readonly measured: {
    readonly rtoMs?: number;
    readonly rpoRows?: number;
    readonly rpoWalBytes?: number;
    readonly rpoDataSeconds?: number;
    readonly probe?: ProbeCounts;
    readonly splitBrainFree?: boolean;
    readonly splitBrainChecks?: readonly string[];
  };
  readonly verdicts: { readonly rto: Verdict; readonly rpo: Verdict; readonly splitBrain: Verdict };
  readonly timeline: readonly { readonly name: MarkName; readonly at: string; readonly sinceFailureMs?: number; readonly detail?: string }[];
  readonly steps: readonly StepRecord[];
  readonly replicationTls: string;
  readonly events: readonly ReportEvent[];
}

export interface DrillReport extends DrillReportBody {
  readonly evidence: {
    /** sha256 of the canonical JSON of everything except `evidence`. */
    readonly digest: string;
    readonly signed: boolean;
    readonly signer?: string;
    readonly signature?: EvidenceSignature;
    readonly note: string;
  };
}

export interface MeasuredInput {
  rtoMs?: number;
  rpoRows?: number;
  rpoWalBytes?: number;
  rpoDataSeconds?: number;
  probe?: ProbeCounts;
  splitBrainFree?: boolean;
  splitBrainChecks?: string[];
}

/** Pass/fail from the steps' outcome and the measurements against the site's objectives. */
export function evaluate(request: DrillRequest, outcome: StepsOutcome, m: MeasuredInput): { result: DrillResult; reasons: string[]; verdicts: DrillReportBody['verdicts'] } {
  const o = request.objectives;
  const rto: Verdict = m.rtoMs === undefined ? 'not-measured' : m.rtoMs <= o.rtoSeconds * 1000 ? 'met' : 'not-met';
  const rpo: Verdict = m.rpoRows === undefined ? 'not-measured' : (o.rpoSeconds === 0 ? m.rpoRows === 0 : (m.rpoDataSeconds ?? 0) <= o.rpoSeconds) ? 'met' : 'not-met';
  const splitBrain: Verdict = m.splitBrainFree === undefined ? 'not-measured' : m.splitBrainFree ? 'met' : 'not-met';
  const reasons: string[] = [];
  if (outcome.result !== 'passed') reasons.push(`step ${outcome.failedStep}: ${outcome.reason}`);
  if (rto === 'not-met') reasons.push(`RTO ${(m.rtoMs! / 1000).toFixed(2)} s exceeds the objective of ${o.rtoSeconds} s`);
  if (rpo === 'not-met') {
    reasons.push(
      o.rpoSeconds === 0
        ? `${m.rpoRows} acknowledged row(s) lost; the objective is no loss (RPO 0)`
        : `${(m.rpoDataSeconds ?? 0).toFixed(2)} s of acknowledged writes lost, over the objective of ${o.rpoSeconds} s`,
    );
  }
  if (splitBrain === 'not-met') reasons.push('the old primary accepted a write after promotion (split brain)');
  const result: DrillResult = outcome.result !== 'passed' ? outcome.result : reasons.length > 0 ? 'failed' : 'passed';
  return { result, reasons, verdicts: { rto, rpo, splitBrain } };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A drill event with its time as ISO text (and milliseconds), kept per kind so `type` narrows it. */
export type ReportEvent = DrillEvent extends infer E ? (E extends DrillEvent ? Omit<E, 'at'> & { readonly at: string; readonly atMs: number } : never) : never;

/** Build the report body from the run's events: steps, timeline and measurements come from them. */
export function buildReportBody(input: {
  runId: string;
  request: DrillRequest;
  events: readonly DrillEvent[];
  outcome: StepsOutcome;
  measured: MeasuredInput;
  replicationTls: string;
}): DrillReportBody {
  const { events } = input;
  const failureAt = events.find((e) => e.type === 'mark' && (e.name === 'failure' || e.name === 'fence'))?.at;
  const steps: StepRecord[] = [];
  const byName = new Map<string, { rec: StepRecord & { phases: StepRecord['phases'][number][] }; started: number }>();
  for (const e of events) {
    if (e.type === 'step-started') {
      const rec = { name: e.step, startedAt: iso(e.at), ok: false, phases: [] as StepRecord['phases'][number][] };
      byName.set(e.step, { rec, started: e.at });
      steps.push(rec);
    } else if (e.type === 'step-phase') {
      byName.get(e.step)?.rec.phases.push({ phase: e.phase, ok: e.ok, at: iso(e.at), ...(e.detail ? { detail: e.detail } : {}) });
    } else if (e.type === 'step-finished') {
      const s = byName.get(e.step);
      if (s) Object.assign(s.rec, { finishedAt: iso(e.at), durationMs: round(e.at - s.started), ok: e.ok, ...(e.detail ? { detail: e.detail } : {}) });
    } else if (e.type === 'rollback') {
      const s = byName.get(e.step);
      if (s) Object.assign(s.rec, { rollback: { ok: e.ok, at: iso(e.at), ...(e.detail ? { detail: e.detail } : {}) } });
    }
  }
  const timeline = events
    .filter((e): e is Extract<DrillEvent, { type: 'mark' }> => e.type === 'mark')
    .map((e) => ({ name: e.name, at: iso(e.at), ...(failureAt === undefined ? {} : { sinceFailureMs: round(e.at - failureAt) }), ...(e.detail ? { detail: e.detail } : {}) }));
  const { result, reasons, verdicts } = evaluate(input.request, input.outcome, input.measured);
  const first = events[0]?.at ?? Date.now();
  const last = events[events.length - 1]?.at ?? first;
  return {
    format: REPORT_FORMAT,
    runId: input.runId,
    request: input.request,
    startedAt: iso(first),
    finishedAt: iso(last),
    result,
    reasons,
    objectives: input.request.objectives,
    measured: roundMeasured(input.measured),
    verdicts,
    timeline,
    steps,
    replicationTls: input.replicationTls,
    events: events.map((e) => ({ ...e, at: iso(e.at), atMs: round(e.at) })),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function roundMeasured(m: MeasuredInput): DrillReportBody['measured'] {
  return {
    ...m,
    ...(m.rtoMs === undefined ? {} : { rtoMs: round(m.rtoMs) }),
    ...(m.rpoDataSeconds === undefined ? {} : { rpoDataSeconds: round(m.rpoDataSeconds) }),
  };
}

export const UNSIGNED_NOTE = 'unsigned: no evidence signer from the jinbao PKI was available; the digest proves integrity only, not who produced the report';

/** Seal the report: digest of the canonical body, signed when a signer is given. */
export async function sealReport(body: DrillReportBody, signer?: EvidenceSigner): Promise<DrillReport> {
  const canonical = canonicalJson(body);
  const digest = sha256Hex(canonical);
  if (!signer) return { ...body, evidence: { digest, signed: false, note: UNSIGNED_NOTE } };
  const signature = await signer.sign(new TextEncoder().encode(canonical));
  return { ...body, evidence: { digest, signed: true, signer: signer.signer, signature, note: `signed by ${signer.signer}` } };
}

export interface ReportVerification {
  readonly ok: boolean;
  readonly digestOk: boolean;
  readonly signed: boolean;
  readonly signer?: string;
  readonly problems: readonly string[];
}

/** Check a report file's digest and, when signed, its signature. */
export async function verifyReport(text: string, verifier?: EvidenceVerifier): Promise<ReportVerification> {
  let parsed: DrillReport;
  try {
    parsed = JSON.parse(text) as DrillReport;
  } catch (err) {
    throw new JinbaoError(`not a drill report: the file is not JSON (${(err as Error).message}); pass the .json report written by jinbao drill run or jinbao drill report --format json`, { cause: err });
  }
  if (parsed?.format !== REPORT_FORMAT || !parsed.evidence) {
    throw new JinbaoError(`not a drill report: format is ${JSON.stringify(parsed?.format)}, want "${REPORT_FORMAT}" with an evidence section`);
  }
  const { evidence, ...body } = parsed;
  const canonical = canonicalJson(body);
  const digestOk = sha256Hex(canonical) === evidence.digest;
  const problems: string[] = [];
  if (!digestOk) problems.push('digest mismatch: the report was changed after it was sealed');
  if (!evidence.signed) {
    problems.push('the report is unsigned (no PKI evidence signer was available when it was written)');
    return { ok: false, digestOk, signed: false, problems };
  }
  if (!verifier) {
    problems.push('the report is signed but no verifier is available: the jinbao PKI is needed to check the signature');
    return { ok: false, digestOk, signed: true, ...(evidence.signer ? { signer: evidence.signer } : {}), problems };
  }
  const v = await verifier.verify(new TextEncoder().encode(canonical), evidence.signature!);
  if (!v.ok) problems.push(v.problem ?? 'the signature does not verify');
  return { ok: digestOk && v.ok, digestOk, signed: true, ...(v.signer ?? evidence.signer ? { signer: v.signer ?? evidence.signer } : {}), problems };
}

/** The report as Markdown: summary against objectives, timeline, steps, probe, evidence. */
export function renderMarkdown(r: DrillReport): string {
  const q = r.request;
  const ms = (x?: number) => (x === undefined ? '—' : `${x.toFixed(0)} ms`);
  const lines = [
    `# DR drill ${r.runId}: ${r.result.toUpperCase()}`,
    '',
    `- site: ${q.site} ${q.siteName}, DR center at ${q.drSite}`,
    `- target: ${q.target}, scenario: ${q.scenario}, replication: ${q.replication}, probe: ${q.probeRate} writes/s` + (q.scenario === 'failover' ? `, failure detection window ${q.detectionMs} ms` : ''),
    `- started ${r.startedAt}, finished ${r.finishedAt}`,
    `- replication TLS: ${r.replicationTls}`,
    '',
    '## Objectives and measurements',
    '',
    '| measure | objective | measured | verdict |',
    '|---|---|---|---|',
    `| RTO (failure or fence → first acknowledged write on the new primary) | ${q.objectives.rtoSeconds} s | ${ms(r.measured.rtoMs)} | ${r.verdicts.rto} |`,
    `| RPO (acknowledged probe rows missing on the new primary) | ${q.objectives.rpoSeconds === 0 ? '0 rows' : `${q.objectives.rpoSeconds} s of data`} | ${r.measured.rpoRows ?? '—'} rows (${(r.measured.rpoDataSeconds ?? 0).toFixed(3)} s of data) | ${r.verdicts.rpo} |`,
    `| WAL not received at promotion | — | ${r.measured.rpoWalBytes ?? 'unknown'} bytes | — |`,
    `| split brain (old primary accepts a write) | never | ${r.measured.splitBrainChecks?.join('; ') ?? '—'} | ${r.verdicts.splitBrain} |`,
    '',
  ];
  if (r.reasons.length > 0) lines.push('## Why it failed', '', ...r.reasons.map((x) => `- ${x}`), '');
  if (r.measured.probe) {
    const p = r.measured.probe;
    lines.push('## Probe', '', `${p.attempted} writes attempted, ${p.acknowledged} acknowledged (${p.acknowledgedByOldPrimary} by the old primary, ${p.acknowledgedByNewPrimary} by the new), ${p.failed} failed during the outage.`, '');
  }
  lines.push('## Timeline', '', '| moment | at | since failure |', '|---|---|---|');
  for (const t of r.timeline) lines.push(`| ${t.name}${t.detail ? ` (${t.detail})` : ''} | ${t.at} | ${t.sinceFailureMs === undefined ? '' : `${t.sinceFailureMs.toFixed(1)} ms`} |`);
  lines.push('', '## Steps', '', '| step | started | duration | result | detail |', '|---|---|---|---|---|');
  for (const s of r.steps) {
    const detail = [s.detail ?? s.phases.map((p) => p.detail).filter(Boolean).join('; '), s.rollback ? `rollback ${s.rollback.ok ? 'ok' : 'FAILED'}: ${s.rollback.detail ?? ''}` : ''].filter(Boolean).join(' / ');
    lines.push(`| ${s.name} | ${s.startedAt} | ${s.durationMs === undefined ? '' : `${s.durationMs.toFixed(0)} ms`} | ${s.ok ? 'ok' : 'FAILED'} | ${detail.replace(/\|/g, '\\|')} |`);
  }
  const notes = r.events.flatMap((e) => (e.type === 'note' ? [`- ${e.at}: ${e.text}`] : []));
  if (notes.length > 0) lines.push('', '## Notes', '', ...notes);
  lines.push('', '## Evidence', '', `- sha256 of the canonical report: \`${r.evidence.digest}\``, `- ${r.evidence.note}`, '');
  return lines.join('\n');
}
