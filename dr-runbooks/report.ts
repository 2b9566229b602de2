import type { CatalogueMessage } from '../lib/errors.js';
import { catalogueMessage, inputError, say, translator, type Lang, type MessageParams } from '../lib/i18n/index.js';
import { parseFailedDetail, type StepsOutcome } from './engine.js';
import { canonicalJson, sha256Hex, type EvidenceSignature, type EvidenceSigner, type EvidenceVerifier } from './evidence.js';
import { DR_MESSAGES } from './messages.js';
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
  const verdicts = { rto, rpo, splitBrain };
  const reasons = [
    ...(outcome.result !== 'passed' ? [stepReason(outcome.failedStep ?? '', outcome.reason ?? '')] : []),
    ...verdictReasons(o, verdicts, m),
  ].map((x) => say(x, 'en'));
  const result: DrillResult = outcome.result !== 'passed' ? outcome.result : reasons.length > 0 ? 'failed' : 'passed';
  return { result, reasons, verdicts };
}

const reason = (key: string, params: MessageParams = {}): CatalogueMessage => catalogueMessage(DR_MESSAGES, key, params).localized;

function stepReason(step: string, why: string): CatalogueMessage {
  return reason('report.reason.step', { step, reason: why });
}

/** Why the measurements fail the objectives, in the order `reasons` gives them. */
function verdictReasons(o: DrillRequest['objectives'], v: DrillReportBody['verdicts'], m: Pick<MeasuredInput, 'rtoMs' | 'rpoRows' | 'rpoDataSeconds'>): CatalogueMessage[] {
  const out: CatalogueMessage[] = [];
  if (v.rto === 'not-met') out.push(reason('report.reason.rto', { seconds: (m.rtoMs! / 1000).toFixed(2), objective: o.rtoSeconds }));
  if (v.rpo === 'not-met') {
    out.push(o.rpoSeconds === 0 ? reason('report.reason.rpoRows', { rows: m.rpoRows ?? 0 }) : reason('report.reason.rpoSeconds', { seconds: (m.rpoDataSeconds ?? 0).toFixed(2), objective: o.rpoSeconds }));
  }
  if (v.splitBrain === 'not-met') out.push(reason('report.reason.splitBrain'));
  return out;
}

/**
 * A report's reasons in `lang`. The report keeps them as English text (it is signed evidence, the same in
 * every language); they are said again from its structured fields: the failed step and the verdicts.
 */
export function reasonTexts(r: Pick<DrillReportBody, 'reasons' | 'steps' | 'verdicts' | 'measured' | 'objectives'>, lang: Lang, failedStepReason?: CatalogueMessage): string[] {
  if (lang === 'en') return [...r.reasons];
  const verdicts = verdictReasons(r.objectives, r.verdicts, r.measured);
  const failed = r.steps.find((s) => !s.ok)?.name;
  return r.reasons.map((text, i) => {
    const fromVerdicts = i - (r.reasons.length - verdicts.length);
    if (fromVerdicts >= 0) return say(verdicts[fromVerdicts]!, lang);
    const prefix = `step ${failed}: `;
    if (failed === undefined || !text.startsWith(prefix)) return text;
    // The reason as a catalogue message only when it is the one recorded (same English text).
    const why = failedStepReason && say(failedStepReason, 'en') === text.slice(prefix.length) ? failedStepReason : text.slice(prefix.length);
    return say(reason('report.reason.step', { step: failed, reason: why }), lang);
  });
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

/**
 * A line printed after a drill's result: where its replication certificates came from and how its
 * report was sealed. Said in the reader's language on screen only; the report itself keeps its
 * English `evidence.note` (UNSIGNED_NOTE), which the digest and signature cover.
 */
export type DrillNote = CatalogueMessage;

export const DRILL_NOTES = {
  labTls: (): DrillNote => catalogueMessage(DR_MESSAGES, 'run.note.replicationTls.lab').localized,
  pkiTls: (): DrillNote => catalogueMessage(DR_MESSAGES, 'run.note.replicationTls.pki').localized,
  unsigned: (): DrillNote => catalogueMessage(DR_MESSAGES, 'run.note.report.unsigned').localized,
  signed: (signer: string): DrillNote => catalogueMessage(DR_MESSAGES, 'run.note.report.signed', { signer }).localized,
};

/** Whether a note is about the report (an existing pair's drill prints only those: its certificates are the operator's). */
export function isReportNote(n: DrillNote): boolean {
  return n.key.startsWith('run.note.report.');
}

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

const VERIFY_PROBLEMS = ['digest', 'unsigned', 'noVerifier', 'badSignature'] as const;

/** A verification problem's English text (what `problems` and --json carry). */
function verifyProblem(key: (typeof VERIFY_PROBLEMS)[number]): string {
  return say(reason(`report.verify.${key}`), 'en');
}

/** A verification's problems in `lang`: jinbao's own said in that language, a verifier's as it gave them. */
export function verifyProblemTexts(problems: readonly string[], lang: Lang): string[] {
  if (lang === 'en') return [...problems];
  return problems.map((p) => {
    const key = VERIFY_PROBLEMS.find((k) => verifyProblem(k) === p);
    return key === undefined ? p : say(reason(`report.verify.${key}`), lang);
  });
}

/**
 * A step's failure detail in `lang`: its phase said in that language; its reason as recorded, or
 * said from `reasonMessage` when the screen has it (the run's own events; a report keeps only the English).
 */
export function failedDetailText(detail: string, lang: Lang, reasonMessage?: CatalogueMessage): string {
  const failed = lang === 'en' ? undefined : parseFailedDetail(detail);
  if (!failed) return detail;
  const t = translator(lang, DR_MESSAGES);
  const why = reasonMessage && say(reasonMessage, 'en') === failed.reason ? say(reasonMessage, lang) : failed.reason;
  return t('report.phaseFailed', { phase: t(`report.phase.${failed.phase}`), reason: why });
}

/** A rollback's failure detail in `lang`: said from `reasonMessage` when the screen has it, else as recorded. */
export function rollbackDetailText(detail: string, lang: Lang, reasonMessage?: CatalogueMessage): string {
  return lang !== 'en' && reasonMessage && say(reasonMessage, 'en') === detail ? say(reasonMessage, lang) : detail;
}

/** Check a report file's digest and, when signed, its signature. */
export async function verifyReport(text: string, verifier?: EvidenceVerifier): Promise<ReportVerification> {
  let parsed: DrillReport;
  try {
    parsed = JSON.parse(text) as DrillReport;
  } catch (err) {
    throw inputError(DR_MESSAGES, 'report.notJson', { reason: (err as Error).message }, { cause: err });
  }
  if (parsed?.format !== REPORT_FORMAT || !parsed.evidence) {
    throw inputError(DR_MESSAGES, 'report.notReport', { format: JSON.stringify(parsed?.format) ?? 'undefined', want: REPORT_FORMAT });
  }
  const { evidence, ...body } = parsed;
  const canonical = canonicalJson(body);
  const digestOk = sha256Hex(canonical) === evidence.digest;
  const problems: string[] = [];
  if (!digestOk) problems.push(verifyProblem('digest'));
  if (!evidence.signed) {
    problems.push(verifyProblem('unsigned'));
    return { ok: false, digestOk, signed: false, problems };
  }
  if (!verifier) {
    problems.push(verifyProblem('noVerifier'));
    return { ok: false, digestOk, signed: true, ...(evidence.signer ? { signer: evidence.signer } : {}), problems };
  }
  const v = await verifier.verify(new TextEncoder().encode(canonical), evidence.signature!);
  if (!v.ok) problems.push(v.problem ?? verifyProblem('badSignature'));
  return { ok: digestOk && v.ok, digestOk, signed: true, ...(v.signer ?? evidence.signer ? { signer: v.signer ?? evidence.signer } : {}), problems };
}

/**
 * The report as Markdown in `lang`: summary against objectives, timeline, steps, probe, evidence.
 * Measured details stay as recorded; the failed step's reason is said from `failedStepReason` when
 * the run that wrote the report has it (its events; the report itself keeps only the English).
 */
export function renderMarkdown(r: DrillReport, lang: Lang = 'en', failedStepReason?: CatalogueMessage): string {
  const t = translator(lang, DR_MESSAGES);
  const q = r.request;
  const ms = (x?: number) => (x === undefined ? '—' : t('report.md.ms', { ms: x.toFixed(0) }));
  const verdict = (v: Verdict) => t(`report.md.verdict.${v}`);
  const lines = [
    t('report.md.title', { id: r.runId, result: lang === 'en' ? r.result.toUpperCase() : t(`report.md.result.${r.result}`) }),
    '',
    t('report.md.site', { site: q.site, name: q.siteName, dr: q.drSite }),
    t('report.md.target', { target: q.target, scenario: t(`report.md.scenario.${q.scenario}`), replication: t(`report.md.replication.${q.replication}`), rate: q.probeRate, detection: q.scenario === 'failover' ? t('report.md.detection', { ms: q.detectionMs }) : '' }),
    t('report.md.times', { started: r.startedAt, finished: r.finishedAt }),
    t('report.md.tls', { tls: r.replicationTls }),
    '',
    t('report.md.objectivesHead'),
    '',
    t('report.md.objectivesTable'),
    '|---|---|---|---|',
    t('report.md.rtoRow', { objective: q.objectives.rtoSeconds, measured: ms(r.measured.rtoMs), verdict: verdict(r.verdicts.rto) }),
    t('report.md.rpoRow', {
      objective: q.objectives.rpoSeconds === 0 ? t('report.md.rpoZero') : t('report.md.rpoSeconds', { seconds: q.objectives.rpoSeconds }),
      rows: r.measured.rpoRows ?? '—',
      seconds: (r.measured.rpoDataSeconds ?? 0).toFixed(3),
      verdict: verdict(r.verdicts.rpo),
    }),
    t('report.md.walRow', { bytes: r.measured.rpoWalBytes ?? t('report.md.unknown') }),
    t('report.md.splitBrainRow', { checks: r.measured.splitBrainChecks?.join('; ') ?? '—', verdict: verdict(r.verdicts.splitBrain) }),
    '',
  ];
  if (r.reasons.length > 0) lines.push(t('report.md.whyHead'), '', ...reasonTexts(r, lang, failedStepReason).map((x) => `- ${x}`), '');
  if (r.measured.probe) {
    const p = r.measured.probe;
    lines.push(t('report.md.probeHead'), '', t('report.md.probe', { attempted: p.attempted, acknowledged: p.acknowledged, old: p.acknowledgedByOldPrimary, new: p.acknowledgedByNewPrimary, failed: p.failed }), '');
  }
  lines.push(t('report.md.timelineHead'), '', t('report.md.timelineTable'), '|---|---|---|');
  for (const e of r.timeline) lines.push(`| ${e.name}${e.detail ? ` (${e.detail})` : ''} | ${e.at} | ${e.sinceFailureMs === undefined ? '' : t('report.md.msDecimal', { ms: e.sinceFailureMs.toFixed(1) })} |`);
  lines.push('', t('report.md.stepsHead'), '', t('report.md.stepsTable'), '|---|---|---|---|---|');
  for (const s of r.steps) {
    const rollback = s.rollback ? t('report.md.rollback', { state: t(s.rollback.ok ? 'report.md.ok' : 'report.md.failed'), detail: s.rollback.detail ?? '' }) : '';
    const detail = [s.detail !== undefined ? failedDetailText(s.detail, lang, s.ok ? undefined : failedStepReason) : s.phases.map((p) => p.detail).filter(Boolean).join('; '), rollback].filter(Boolean).join(' / ');
    lines.push(`| ${s.name} | ${s.startedAt} | ${s.durationMs === undefined ? '' : ms(s.durationMs)} | ${t(s.ok ? 'report.md.ok' : 'report.md.failed')} | ${detail.replace(/\|/g, '\\|')} |`);
  }
  const notes = r.events.flatMap((e) => (e.type === 'note' ? [`- ${e.at}: ${e.text}`] : []));
  if (notes.length > 0) lines.push('', t('report.md.notesHead'), '', ...notes);
  const note = lang === 'en' ? r.evidence.note : r.evidence.signed ? t('report.md.signedBy', { signer: r.evidence.signer ?? '' }) : t('report.md.unsigned');
  lines.push('', t('report.md.evidenceHead'), '', t('report.md.digest', { digest: r.evidence.digest }), `- ${note}`, '');
  return lines.join('\n');
}
