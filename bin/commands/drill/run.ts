import { join } from 'node:path';
import { DRILL_NOTES, failedDetailText, labTlsSource, reasonTexts, rollbackDetailText, type DrillReport } from '../../../dr-runbooks/index.js';
import { checkRunChoices, drillHistory, runDrill as run, type DrillObserver } from '../../../dr-runbooks/operations/index.js';
import { ExitCode, type CatalogueMessage } from '../../../lib/errors.js';
import { say } from '../../../lib/i18n/index.js';
import { json } from '../../../lib/output.js';
import { drillEvidence } from '../../../orchestration/index.js';
import type { Context } from '../../context.js';
import { parseDrillRequest, type RequestOptions } from './request.js';
import { stepName } from './steps.js';

export type RunOptions = RequestOptions & { out?: string; labTls?: boolean; unsigned?: boolean; switchBack?: boolean; json?: boolean };

/** `drill run`: run a drill (and its switch-back), print its progress and outcome; exit 3 unless every run passed. */
export async function runDrill(ctx: Context, o: RunOptions): Promise<number> {
  const request = parseDrillRequest(ctx, o);
  checkRunChoices(request, { labTls: o.labTls === true, unsigned: o.unsigned === true, switchBack: o.switchBack === true });
  const history = await drillHistory(ctx);
  const evidence =
    request.target === 'pg'
      ? async () => (o.unsigned ? { tls: labTlsSource(), notes: [DRILL_NOTES.unsigned()] } : await drillEvidence(ctx, request.site, false, 'pg'))
      : () => drillEvidence(ctx, request.site, o.labTls === true);
  const r = await run({
    request,
    stateDir: ctx.stateDir,
    history,
    ...(o.pair !== undefined ? { pairFile: o.pair } : {}),
    evidence,
    outDir: o.out ?? join(ctx.stateDir, 'dr-reports'),
    switchBack: o.switchBack === true,
    lang: ctx.lang,
    observer: o.json ? { progress: (l) => ctx.err(`${l}\n`) } : printer(ctx),
  });
  const passed = (x: DrillReport | null | undefined) => x?.result === 'passed';
  if (!o.switchBack) {
    if (o.json) ctx.out(json(r.drill));
  } else if (o.json) ctx.out(json({ drill: r.drill, switchBack: r.switchBack ?? null }));
  else if (r.switchBack === null) ctx.out(`${ctx.t('drill.noSwitchBack')}\n`);
  if (r.labStoppedAfter && !o.json) ctx.out(ctx.t('drill.labStopped', { site: request.site }) + '\n');
  const ok = o.switchBack ? passed(r.switchBack) : passed(r.drill);
  return ok ? ExitCode.ok : ExitCode.complianceFailed;
}

/** What a person at the terminal sees of a drill. */
function printer(ctx: Context): DrillObserver {
  // The failed step's reason as a catalogue message, from this run's events, to say it again in the summary.
  let failedReason: CatalogueMessage | undefined;
  return {
    progress: (l) => ctx.err(`${l}\n`),
    started(id, request, pair) {
      failedReason = undefined;
      ctx.out(`${ctx.t('drill.started', { id, scenario: ctx.t(`drill.scenario.${request.scenario}`), site: request.site, dr: request.drSite, replication: ctx.t(`drill.replicationMode.${request.replication}`), primary: pair.primary, standby: pair.standby })}\n`);
    },
    event(e, said) {
      if (e.type === 'step-finished') {
        if (!e.ok) failedReason = said?.reasonMessage;
        ctx.out(`  ${e.ok ? ctx.t('drill.stepOk') : ctx.t('drill.stepFailed')} ${stepName(ctx, e.step)}${e.detail ? `${ctx.t('drill.detailSeparator')}${failedDetailText(e.detail, ctx.lang, said?.reasonMessage)}` : ''}\n`);
      }
      if (e.type === 'rollback') ctx.out(`  ${e.ok ? ctx.t('drill.rolledBack') : ctx.t('drill.rollbackFailed')} ${stepName(ctx, e.step)}${e.detail ? `${ctx.t('drill.detailSeparator')}${rollbackDetailText(e.detail, ctx.lang, said?.reasonMessage)}` : ''}\n`);
      if (e.type === 'note' && e.text.startsWith('operator command')) ctx.err(`    ${e.text}\n`);
    },
    finished(report, jsonFile, notes) {
      const m = report.measured;
      const objectives = report.request.objectives;
      ctx.out(`\n${ctx.t('drill.result', { result: ctx.t(`drill.outcome.${report.result}`), rto: m.rtoMs === undefined ? '—' : `${(m.rtoMs / 1000).toFixed(2)} s`, rtoObjective: objectives.rtoSeconds, rows: m.rpoRows ?? '—', wal: m.rpoWalBytes ?? '?', rpoObjective: objectives.rpoSeconds })}\n`);
      for (const r of reasonTexts(report, ctx.lang, failedReason)) ctx.out(`  - ${r}\n`);
      for (const n of notes) ctx.out(`${say(n, ctx.lang)}\n`);
      ctx.out(`${ctx.t('drill.report', { file: jsonFile })}\n`);
    },
    switchingBack(pair) {
      ctx.out(`\n${ctx.t('drill.switchBack', { primary: pair.primary, standby: pair.standby })}\n`);
    },
  };
}
