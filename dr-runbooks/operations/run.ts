import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError, type CatalogueMessage } from '../../lib/errors.js';
import { inputError, translator, type Lang } from '../../lib/i18n/index.js';
import { DR_MESSAGES } from '../messages.js';
import type { Progress } from '../../lib/context.js';
import { executeDrill } from '../drill.js';
import { DrillAbortedError, type EventSaying } from '../engine.js';
import type { EvidenceSigner } from '../evidence.js';
import type { DrillHistory } from '../history.js';
import type { DrillEvent, DrillRequest, ReplicationMode } from '../model.js';
import type { DrPair } from '../pair.js';
import { LabPair } from '../pg/lab-pair.js';
import { PgLab, labDir } from '../pg/lab.js';
import { RemotePair } from '../pg/remote-pair.js';
import { PgTools } from '../pg/tools.js';
import { isReportNote, renderMarkdown, type DrillNote, type DrillReport } from '../report.js';
import type { ReplicaTlsSource } from '../tls.js';
import { pairConfigFor } from './request.js';
import { makeDirs } from '../../lib/dirs.js';

/** Where a drill's replication certificates and its report signature come from, and what to say about them. */
export interface DrillEvidence {
  readonly tls: ReplicaTlsSource;
  readonly signer?: EvidenceSigner;
  /** Printed after the result, in the reader's language (never part of the report). */
  readonly notes: readonly DrillNote[];
}

/** Open the site's lab, creating or starting it; says whether this call started it (and so should stop it). */
export async function prepareLab(stateDir: string, site: string, replication: ReplicationMode, tls: ReplicaTlsSource, progress: Progress, lang: Lang = 'en'): Promise<{ lab: PgLab; startedHere: boolean }> {
  const tools = new PgTools();
  tools.ensureInstalled();
  const dir = labDir(stateDir, site);
  if (!PgLab.exists(dir)) {
    progress(translator(lang, DR_MESSAGES)('lab.creating', { site, dir }));
    const lab = await PgLab.create({ dir, site, replication, tls, tools, stateDir });
    return { lab, startedHere: true };
  }
  const lab = PgLab.open(dir, tools);
  const wasRunning = lab.pid(lab.primary) !== undefined && lab.pid(lab.standby) !== undefined && lab.proxy.pid() !== undefined;
  if (!wasRunning) await lab.start();
  return { lab, startedHere: !wasRunning };
}

/** What a caller sees of a running drill (the CLI prints it; a service would stream it). */
export interface DrillObserver {
  /** A run began (and can be aborted by its id). */
  started?(runId: string, request: DrillRequest, pair: DrPair): void;
  /** Each event as it happens; `said` carries what the screen may say beyond the recorded event (a failure's reason as a catalogue message). */
  event?(e: DrillEvent, said?: EventSaying): void;
  /** A run ended and its report files are written. */
  finished?(report: DrillReport, jsonFile: string, notes: readonly DrillNote[]): void;
  /** The drill passed and the switch-back starts. */
  switchingBack?(pair: DrPair): void;
  /** Lab creation and similar slow preparation. */
  progress?: Progress;
}

export interface RunDrillOptions {
  readonly request: DrillRequest;
  readonly stateDir: string;
  readonly history: DrillHistory;
  /** Target pg: the pair file. */
  readonly pairFile?: string;
  /** Certificates and report signer; asked for after the pair file is checked. */
  readonly evidence: () => Promise<DrillEvidence>;
  /** Where the report files go. */
  readonly outDir: string;
  /** After a passed drill, a planned switchover back to the original primary (its own run). */
  readonly switchBack: boolean;
  /** Aborts the running drill; default: Ctrl-C (SIGINT) while a drill runs. */
  readonly signal?: AbortSignal;
  /** The language of the Markdown report (the JSON report is the same in every language). @default 'en' */
  readonly lang?: Lang;
  readonly observer?: DrillObserver;
}

export interface DrillRunResult {
  readonly drill: DrillReport;
  /** With switch-back: its run, or null when the drill did not pass (nothing was switched). */
  readonly switchBack?: DrillReport | null;
  /** The lab servers this drill started were stopped again. */
  readonly labStoppedAfter: boolean;
}

/** Run a drill on an existing pair (target pg) or on the embedded lab (pg-local), writing each run's report. */
export async function runDrill(o: RunDrillOptions): Promise<DrillRunResult> {
  const { request } = o;
  if (request.target === 'pg') {
    const config = pairConfigFor(request, o.pairFile);
    const evidence = await o.evidence();
    const pair = await RemotePair.open(config, { site: request.site });
    const tlsLabel = `operator-managed; the certificates the servers present are checked at preflight${config.tls.caFile ? ` against ${config.tls.caFile}` : ' (validity only: the pair file names no tls.ca)'}`;
    try {
      const r = await drive(o, { pair, lockName: `pg:${request.site}`, replicationTls: tlsLabel, evidence, notes: evidence.notes.filter(isReportNote) });
      return { ...r, labStoppedAfter: false };
    } finally {
      await pair.close();
    }
  }
  const evidence = await o.evidence();
  const { lab, startedHere } = await prepareLab(o.stateDir, request.site, request.replication, evidence.tls, o.observer?.progress ?? (() => undefined), o.lang);
  try {
    const r = await drive(o, { pair: new LabPair(lab), lockName: `pg-local:${request.site}`, replicationTls: lab.state.tlsSource, evidence, notes: evidence.notes });
    return { ...r, labStoppedAfter: startedHere };
  } finally {
    if (startedHere) await lab.stop();
  }
}

interface On {
  readonly pair: DrPair;
  readonly lockName: string;
  readonly replicationTls: string;
  readonly evidence: DrillEvidence;
  readonly notes: readonly DrillNote[];
}

async function drive(o: RunDrillOptions, on: On): Promise<{ drill: DrillReport; switchBack?: DrillReport | null }> {
  const first = await runOnce(o, o.request, on);
  if (!o.switchBack) return { drill: first };
  if (first.result !== 'passed') return { drill: first, switchBack: null };
  o.observer?.switchingBack?.(on.pair);
  const back = await runOnce(o, { ...o.request, scenario: 'switchover', failback: true }, on);
  return { drill: first, switchBack: back };
}

async function runOnce(o: RunDrillOptions, request: DrillRequest, on: On): Promise<DrillReport> {
  const controller = new AbortController();
  const onSigint = () => controller.abort(DrillAbortedError.of('interruptedCtrlC'));
  if (!o.signal) process.once('SIGINT', onSigint);
  let report: DrillReport;
  // The failed step's reason as a catalogue message, for the Markdown report in the user's language.
  let failedReason: CatalogueMessage | undefined;
  try {
    report = await executeDrill({
      request,
      pair: on.pair,
      history: o.history,
      lockName: on.lockName,
      replicationTls: on.replicationTls,
      ...(on.evidence.signer ? { signer: on.evidence.signer } : {}),
      signal: o.signal ?? controller.signal,
      onStart: (id) => o.observer?.started?.(id, request, on.pair),
      onEvent: (e, said) => {
        if (e.type === 'step-finished' && !e.ok) failedReason = said?.reasonMessage;
        o.observer?.event?.(e, said);
      },
    });
  } finally {
    if (!o.signal) process.off('SIGINT', onSigint);
  }
  const outDir = resolve(o.outDir);
  makeDirs(outDir);
  const jsonFile = join(outDir, `${report.runId}.json`);
  writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(outDir, `${report.runId}.md`), renderMarkdown(report, o.lang, failedReason));
  o.observer?.finished?.(report, jsonFile, on.notes);
  return report;
}

/** Refuse option combinations a drill cannot honour, before anything starts. */
export function checkRunChoices(request: DrillRequest, c: { labTls: boolean; unsigned: boolean; switchBack: boolean }): void {
  if (c.labTls && request.target !== 'pg-local') throw inputError(DR_MESSAGES, 'run.labTlsTarget');
  if (c.switchBack && !request.failback) throw inputError(DR_MESSAGES, 'run.switchBackNeedsFailback');
  if (c.unsigned && request.target !== 'pg') throw inputError(DR_MESSAGES, 'run.unsignedTarget');
}

