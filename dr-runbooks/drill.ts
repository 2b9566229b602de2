import { DrillAbortedError, EventLog, runSteps, type EventListener, type Step } from './engine.js';
import type { EvidenceSigner } from './evidence.js';
import { HEARTBEAT_MS, newRunId, type DrillHistory } from './history.js';
import type { DrillRequest } from './model.js';
import type { DrPair } from './pair.js';
import { buildReportBody, sealReport, type DrillReport } from './report.js';
import { DrillRefusedError, drillSteps, newDrillState, type DrillContext } from './runbook.js';

export interface ExecuteDrillOptions {
  readonly request: DrillRequest;
  readonly pair: DrPair;
  readonly history: DrillHistory;
  /** The lock that keeps two drills off the same pair. */
  readonly lockName: string;
  /** Where the replication certificates came from, for the report. */
  readonly replicationTls: string;
  readonly signer?: EvidenceSigner;
  /** Aborts the drill (Ctrl-C); rollbacks run. */
  readonly signal?: AbortSignal;
  readonly onEvent?: EventListener;
  /** Called once the run is recorded, with its id (for `drill abort`). */
  readonly onStart?: (runId: string) => void;
  /** How often the store is checked for `drill abort`. @default 200 */
  readonly abortPollMs?: number;
  /** Replace the steps (tests of the engine's rollback paths). @default drillSteps(request) */
  readonly steps?: readonly Step<DrillContext>[];
}

/**
 * Run one drill end to end: take the lock, run the steps (rollbacks on failure or abort), build
 * and seal the report from the events, record the outcome. A refusal records nothing and changes
 * nothing; it is thrown as DrillRefusedError.
 */
export async function executeDrill(opts: ExecuteDrillOptions): Promise<DrillReport> {
  const { request, pair, history } = opts;
  const runId = newRunId(request.site);
  await history.begin(opts.lockName, runId, request);
  opts.onStart?.(runId);
  const log = new EventLog();
  if (opts.onEvent) log.onEvent(opts.onEvent);
  const controller = new AbortController();
  const onExternalAbort = () => controller.abort(opts.signal!.reason instanceof DrillAbortedError ? opts.signal!.reason : DrillAbortedError.of('interrupted'));
  opts.signal?.addEventListener('abort', onExternalAbort, { once: true });
  if (opts.signal?.aborted) onExternalAbort();
  // One look at a time; a store that does not answer for a moment is asked again at the next tick.
  let polling = false;
  const poll = setInterval(() => {
    if (polling) return;
    polling = true;
    history
      .abortRequested(runId)
      .then((requested) => {
        if (requested) controller.abort(DrillAbortedError.of('abortedWith', { run: runId }));
      })
      .catch(() => undefined)
      .finally(() => (polling = false));
  }, opts.abortPollMs ?? 200);
  poll.unref();
  // Processes on other machines sharing the store judge this drill by its heartbeat.
  const beat = setInterval(() => void history.heartbeat(runId).catch(() => undefined), HEARTBEAT_MS);
  beat.unref();

  const ctx: DrillContext = { runId, request, pair, log, signal: controller.signal, oldPrimary: pair.primary, newPrimary: pair.standby, state: newDrillState() };
  log.emit({ type: 'run-started', runId, request });
  pair.observe?.((text) => log.note(text));
  let outcome;
  try {
    outcome = await runSteps(opts.steps ?? drillSteps(request), ctx, log, controller.signal);
  } catch (err) {
    await history.finish(opts.lockName, runId, { result: 'failed', reason: `internal error: ${(err as Error).message}`, report: null });
    throw err;
  } finally {
    clearInterval(poll);
    clearInterval(beat);
    opts.signal?.removeEventListener('abort', onExternalAbort);
    await ctx.state.probe?.stop();
  }
  if (outcome.failedStep === 'preflight' && outcome.error instanceof DrillRefusedError) {
    await history.discard(opts.lockName, runId);
    throw outcome.error;
  }
  const m = ctx.state.measurements;
  const body = buildReportBody({ runId, request, events: log.events, outcome, measured: m, replicationTls: opts.replicationTls });
  log.emit({ type: 'run-finished', result: body.result, ...(body.reasons.length ? { reason: body.reasons.join('; ') } : {}) });
  const report = await sealReport(body, opts.signer);
  await history.finish(opts.lockName, runId, {
    result: report.result,
    ...(report.reasons.length ? { reason: report.reasons.join('; ') } : {}),
    ...(m.rtoMs === undefined ? {} : { rtoMs: m.rtoMs }),
    ...(m.rpoRows === undefined ? {} : { rpoRows: m.rpoRows }),
    ...(m.rpoWalBytes === undefined ? {} : { rpoWalBytes: m.rpoWalBytes }),
    report,
  });
  return report;
}
