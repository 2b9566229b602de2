import { JinbaoError, type CatalogueMessage } from '../lib/errors.js';
import { catalogueMessage, type MessageParams } from '../lib/i18n/index.js';
import { pause, StepFailure, waitFor, type EventLog, type Step } from './engine.js';
import { DR_MESSAGES, said } from './messages.js';
import type { DrillRequest, Measurements, ReplicationMode } from './model.js';
import { lsnDiff, type DrPair, type ReplicationStatus } from './pair.js';
import { probeTableSql, PROBE_TABLE, WriteProbe } from './probe.js';

/** A drill refused before anything changed. */
export class DrillRefusedError extends JinbaoError {
  /** `localized`: the refusal as a catalogue message, printed in the user's language (`message` stays English). */
  constructor(message: string, localized?: CatalogueMessage) {
    super(message, { exitCode: 2, ...(localized ? { localized } : {}) });
    this.name = 'DrillRefusedError';
  }

  /** A refusal from the dr-runbooks catalogue (`refuse.<key>`). */
  static of(key: string, params: MessageParams): DrillRefusedError {
    const m = catalogueMessage(DR_MESSAGES, `refuse.${key}`, params);
    return new DrillRefusedError(m.message, m.localized);
  }
}


/** What the steps share while a drill runs. */
export interface DrillContext {
  readonly runId: string;
  readonly request: DrillRequest;
  readonly pair: DrPair;
  readonly log: EventLog;
  readonly signal: AbortSignal;
  /** Fixed at the start: the roles the drill swaps. */
  readonly oldPrimary: string;
  readonly newPrimary: string;
  readonly state: DrillState;
}

export interface DrillState {
  previousMode?: ReplicationMode;
  probe?: WriteProbe;
  startLsn?: string;
  failureAt?: number;
  fenced: boolean;
  promoted: boolean;
  rejoined?: boolean;
  endOfWal?: string;
  replayedAtPromotion?: string;
  measurements: { -readonly [K in keyof Measurements]: Measurements[K] } & { rpoDataSeconds?: number; splitBrainChecks?: string[] };
}

const PROBE_MAX_MS = 10 * 60_000;
/** Preflight looks at lag for this long before refusing, so a momentary blip does not refuse a drill. */
const LAG_SETTLE_MS = 1_500;

/** How long a rollback before promotion waits for the standby to stream from the restarted primary. */
const ROLLBACK_STREAM_TIMEOUT_MS = 20_000;

/**
 * Poll the pair until its standby streams on the primary's timeline, for at most `timeoutMs`; the
 * last status seen either way (an abort rejects).
 */
async function untilStreaming(pair: DrPair, timeoutMs: number, signal?: AbortSignal): Promise<ReplicationStatus> {
  let last: ReplicationStatus = { streaming: false, detail: 'not checked yet' };
  try {
    await waitFor(
      said('step.waitingFor.standbyStream'),
      async () => {
        last = await pair.replication();
        return last.streaming ? true : undefined;
      },
      { timeoutMs, intervalMs: 100, ...(signal ? { signal } : {}) },
    );
  } catch (err) {
    if (signal?.aborted) throw err;
  }
  return last;
}

/** How the coordinator looks at the pair's replication. */
function statusCommand(request: DrillRequest): string {
  return request.target === 'pg-local' ? `jinbao drill lab status --site ${request.site}` : `jinbao drill pair status --site ${request.site} --pair FILE`;
}

export function newDrillState(): DrillState {
  return { fenced: false, promoted: false, measurements: {} };
}

/**
 * The drill as data: a planned switchover or an unplanned failover, each step with its
 * precondition, action, verification and rollback. `jinbao drill plan` prints these without
 * running them.
 */
export function drillSteps(request: DrillRequest): Step<DrillContext>[] {
  const failover = request.scenario === 'failover';
  const steps: Step<DrillContext>[] = [
    preflight(),
    replicationMode(),
    startProbe(),
    ...(failover ? [injectFailure(), detectFailure()] : []),
    fenceOldPrimary(failover),
    catchUp(),
    promote(),
    switchTraffic(),
    splitBrainCheck(),
    measureRpo(),
  ];
  if (request.failback) steps.push(failback());
  return steps;
}

function preflight(): Step<DrillContext> {
  return {
    name: 'preflight',
    description: 'standby streaming, replay lag within the RPO budget, replication certificates valid (the drill lock is taken before)',
    async action({ pair, request, log, signal }) {
      const status = await pair.replication();
      if (!status.streaming) throw DrillRefusedError.of('notStreaming', { detail: status.detail, command: statusCommand(request) });
      const budget = request.objectives.rpoSeconds;
      let delay = status.replayDelaySeconds ?? 0;
      const settleUntil = performance.now() + LAG_SETTLE_MS;
      while (delay > budget && performance.now() < settleUntil) {
        await pause(100, signal);
        delay = (await pair.replication()).replayDelaySeconds ?? 0;
      }
      if (delay > budget) {
        throw DrillRefusedError.of('lag', { seconds: delay.toFixed(1), budget });
      }
      // The probe's acknowledgements name their server: the two nodes must be told apart.
      const [primaryKey, standbyKey] = [await pair.serverKey(pair.primary), await pair.serverKey(pair.standby)];
      if (primaryKey === standbyKey) {
        throw DrillRefusedError.of('sameServer', { primary: pair.primary, standby: pair.standby, key: String(primaryKey) });
      }
      const mode = await pair.replicationMode();
      if (mode !== request.replication && !pair.managesReplicationMode) {
        throw DrillRefusedError.of('mode', { mode, wanted: request.replication });
      }
      const certs = await pair.certificates(Date.now());
      const bad = certs.filter((c) => c.problem);
      if (bad.length > 0) {
        // "file: problem; file: problem", each problem in the user's language
        const problems = bad.reduceRight<CatalogueMessage | undefined>(
          (rest, c) => said(rest ? 'refuse.certificateAnd' : 'refuse.certificate', { file: c.file, problem: c.localizedProblem ?? c.problem!, ...(rest ? { rest } : {}) }),
          undefined,
        )!;
        throw request.target === 'pg-local' ? DrillRefusedError.of('certificatesLab', { problems, site: request.site }) : DrillRefusedError.of('certificates', { problems });
      }
      log.measure('preflight.replayDelaySeconds', delay);
      log.measure('preflight.replayLagBytes', status.replayLagBytes ?? 0);
      log.measure('preflight.certificatesChecked', certs.length);
      const tls = await observeReplicationTls(pair);
      log.measure(REPLICATION_TLS_MEASURE, tls.observed);
      const certSummary = certs.length === 0 ? 'no replication certificates to check' : `${certs.length} certificates valid until ${certs.map((c) => c.notAfter).sort()[0]}`;
      return `${status.detail}; replay lag ${delay.toFixed(3)} s (budget ${budget} s); ${certSummary}; replication connection: ${tls.detail}`;
    },
  };
}

/** The drill measure that records what the primary saw on the standby's replication connection. */
export const REPLICATION_TLS_MEASURE = 'preflight.replicationTls';

/**
 * What the replication connection runs over, as the primary sees it: pg_stat_ssl of the standby's
 * walsender. "mutual-tls" when it is encrypted and the standby presented a client certificate,
 * "tls" when encrypted without one, "none" when in clear; "unknown" when the drill's role may not
 * read those views (then nothing is claimed).
 */
export async function observeReplicationTls(pair: DrPair): Promise<{ observed: ReplicationTlsObservation; detail: string }> {
  let rows: { ssl: boolean | null; version: string | null; client_dn: string | null }[];
  try {
    rows = await pair.query(pair.primary, 'SELECT s.ssl, s.version, s.client_dn FROM pg_stat_replication r LEFT JOIN pg_stat_ssl s ON s.pid = r.pid');
  } catch (err) {
    return { observed: 'unknown', detail: `not observable (${(err as Error).message.split('\n')[0]})` };
  }
  if (rows.length === 0) return { observed: 'unknown', detail: 'no walsender on the primary' };
  const kinds = rows.map((r): ReplicationTlsObservation => (r.ssl === null ? 'unknown' : !r.ssl ? 'none' : r.client_dn ? 'mutual-tls' : 'tls'));
  // the weakest connection is what the pair can be trusted with
  const observed = (['none', 'unknown', 'tls', 'mutual-tls'] as const).find((k) => kinds.includes(k))!;
  const first = rows[0]!;
  const detail =
    observed === 'mutual-tls'
      ? `mutual TLS (${first.version}, client certificate "${first.client_dn}")`
      : observed === 'tls'
        ? `TLS without a client certificate (${first.version})`
        : observed === 'none'
          ? 'not encrypted (pg_stat_ssl.ssl = false)'
          : 'TLS state not visible to the drill role (pg_stat_ssl)';
  return { observed, detail };
}

export type ReplicationTlsObservation = 'mutual-tls' | 'tls' | 'none' | 'unknown';

function replicationMode(): Step<DrillContext> {
  return {
    name: 'replication-mode',
    description: 'run the pair with the requested replication (synchronous_standby_names on the primary)',
    rollbackDescription: 'restore the previous replication mode if the old primary still leads',
    async action({ pair, request, state }) {
      state.previousMode = await pair.replicationMode();
      if (state.previousMode === request.replication) return `already ${request.replication}`;
      await pair.setReplicationMode(request.replication);
      return `${state.previousMode} → ${request.replication}`;
    },
    async verification({ pair, request, signal }) {
      const want = request.replication === 'sync' ? 'sync' : 'async';
      let seen: string | undefined;
      await waitFor(
        said('step.waitingFor.syncState', { want }),
        async () => {
          seen = (await pair.replication()).syncState;
          return seen === want ? true : undefined;
        },
        { timeoutMs: 5_000, intervalMs: 50, signal },
      ).catch(() => {
        throw new StepFailure('step.syncState', { seen: String(seen), want });
      });
      return `standby sync_state ${want}`;
    },
    async rollback({ pair, state }) {
      if (state.promoted || state.fenced || state.previousMode === undefined) return 'left as is: roles changed';
      await pair.setReplicationMode(state.previousMode);
      return `restored ${state.previousMode}`;
    },
  };
}

function startProbe(): Step<DrillContext> {
  return {
    name: 'start-probe',
    description: 'start the write probe through the endpoint: committed inserts with sequence numbers at the set rate',
    rollbackDescription: 'stop the probe',
    async action({ pair, request, runId, state, oldPrimary }) {
      await pair.query(oldPrimary, probeTableSql());
      const [lsn] = await pair.query<{ lsn: string }>(oldPrimary, 'SELECT pg_current_wal_lsn()::text AS lsn');
      state.startLsn = lsn!.lsn;
      const probe = new WriteProbe({ endpoint: pair.endpoint, serverKeySql: pair.serverKeySql, runId, rate: request.probeRate, maxWrites: request.probeRate * (PROBE_MAX_MS / 1000), maxMs: PROBE_MAX_MS });
      state.probe = probe;
      probe.start();
      return `${request.probeRate} writes/s into ${PROBE_TABLE}`;
    },
    async verification({ request, state, pair, oldPrimary, signal }) {
      await pause(request.warmupMs, signal);
      const oldServer = await pair.serverKey(oldPrimary);
      const acked = state.probe!.acks.filter((a) => a.server === oldServer).length;
      if (acked === 0) throw new StepFailure('step.probeNoAck', { node: oldPrimary, ms: request.warmupMs, error: state.probe!.error ?? said('step.noError') });
      return `${acked} writes acknowledged by ${oldPrimary}`;
    },
    async rollback({ state }) {
      await state.probe?.stop();
      return 'probe stopped';
    },
  };
}

function injectFailure(): Step<DrillContext> {
  return {
    name: 'inject-failure',
    description: 'kill the primary with SIGKILL (all its processes at once, as when the machine dies)',
    async action({ pair, oldPrimary, state, log }) {
      const at = await pair.crash(oldPrimary);
      state.failureAt = at;
      log.mark('failure', `${oldPrimary} killed`, at);
      return `${oldPrimary} killed`;
    },
  };
}

function detectFailure(): Step<DrillContext> {
  return {
    name: 'detect-failure',
    description: 'declare the primary failed once it has not answered for the detection window',
    async action({ pair, oldPrimary, request, log, signal }) {
      let downSince: number | undefined;
      await waitFor(
        said('step.waitingFor.unreachable', { node: oldPrimary, ms: request.detectionMs }),
        async () => {
          const up = await pair.reachable(oldPrimary, 200);
          const now = performance.now();
          if (up) downSince = undefined;
          else downSince ??= now;
          return downSince !== undefined && now - downSince >= request.detectionMs ? true : undefined;
        },
        { timeoutMs: request.detectionMs + 30_000, intervalMs: 100, signal },
      );
      log.mark('detected', `${oldPrimary} unreachable for ${request.detectionMs} ms`);
      return `${oldPrimary} declared failed`;
    },
  };
}

function fenceOldPrimary(failover: boolean): Step<DrillContext> {
  return {
    name: 'fence-old-primary',
    description: failover
      ? 'drain the endpoint and mark the dead primary so it can only ever restart read-only'
      : 'drain the endpoint, mark the primary so it can only ever restart read-only, and shut it down cleanly (it sends all its WAL first)',
    rollbackDescription: 'before promotion only: lift the mark, restart the old primary and route traffic back to it',
    async action({ pair, oldPrimary, state, log }) {
      if (!failover) {
        // A checkpoint while still serving keeps the shutdown checkpoint, and so the outage, short.
        await pair.query(oldPrimary, 'CHECKPOINT');
        state.failureAt = log.now();
        log.mark('fence', `${oldPrimary} fenced for switchover`, state.failureAt);
      }
      await pair.traffic.drain();
      await pair.fence(oldPrimary, true);
      state.fenced = true;
      if (!failover) await pair.stopClean(oldPrimary);
      if (failover) log.mark('fence', `${oldPrimary} fenced`);
      return `endpoint drained; ${oldPrimary} fenced${failover ? '' : ' and stopped'}`;
    },
    async verification({ pair, oldPrimary }) {
      if (await pair.reachable(oldPrimary, 500)) throw new StepFailure('step.stillAnswers', { node: oldPrimary });
      const routed = await pair.traffic.current();
      if (routed !== undefined) throw new StepFailure('step.stillRoutes', { node: routed });
      return `${oldPrimary} does not answer; the endpoint routes nowhere`;
    },
    async rollback({ pair, oldPrimary, request, state }) {
      if (state.promoted) return 'left fenced: the standby was promoted';
      await pair.fence(oldPrimary, false);
      await pair.start(oldPrimary);
      await pair.traffic.route(oldPrimary);
      state.fenced = false;
      // The pair is whole again only once the standby streams from the restarted primary (it reconnects on its own).
      const streaming = await untilStreaming(pair, ROLLBACK_STREAM_TIMEOUT_MS);
      if (!streaming.streaming) {
        throw new StepFailure('step.rollbackNotStreaming', { node: oldPrimary, ms: ROLLBACK_STREAM_TIMEOUT_MS, detail: streaming.detail, command: statusCommand(request) });
      }
      return `${oldPrimary} restarted as primary and routed again; ${streaming.detail}`;
    },
  };
}

function catchUp(): Step<DrillContext> {
  return {
    name: 'catch-up',
    description: 'let the standby replay everything it received (bounded)',
    async action({ pair, newPrimary, request, state, signal, log }) {
      // A clean shutdown returns only after the standby confirmed all WAL, so replaying what was received is enough;
      // the old primary's end of WAL is read after promotion, outside the outage (measure-rpo).
      const pos = await waitFor(
        said('step.waitingFor.replay', { node: newPrimary }),
        async () => {
          const p = await pair.walPositions(newPrimary);
          if (p.receive === null || p.replay === null) return undefined;
          return lsnDiff(p.receive, p.replay) > 0 ? undefined : p;
        },
        { timeoutMs: request.catchUpTimeoutMs, intervalMs: 20, signal },
      );
      state.replayedAtPromotion = pos.replay!;
      log.measure('newPrimary.replayedAtPromotion', pos.replay!);
      return `received ${pos.receive}, replayed ${pos.replay}`;
    },
  };
}

function promote(): Step<DrillContext> {
  return {
    name: 'promote',
    description: 'promote the standby (pg_promote, waiting for it to finish)',
    rollbackDescription: 'a promoted standby stays primary: rewind the old primary into its standby so the pair is whole again',
    async precondition({ pair, oldPrimary }) {
      const w = await pair.tryWrite(oldPrimary);
      if (w.accepted) throw new StepFailure('step.stillAcceptsWrites', { node: oldPrimary });
      return `${oldPrimary} accepts no write`;
    },
    async action({ pair, newPrimary, state, log }) {
      await pair.promote(newPrimary);
      state.promoted = true;
      pair.setPrimary(newPrimary);
      log.mark('promoted', `${newPrimary} promoted`);
      return `${newPrimary} promoted`;
    },
    async verification({ pair, newPrimary }) {
      const [row] = await pair.query<{ r: boolean }>(newPrimary, 'SELECT pg_is_in_recovery() AS r');
      if (row?.r !== false) throw new StepFailure('step.stillInRecovery', { node: newPrimary });
      return `${newPrimary} is out of recovery`;
    },
    async rollback({ pair, oldPrimary, newPrimary, request, state }) {
      if (!state.promoted || state.rejoined) return 'nothing to settle';
      const detail = await pair.rejoinAsStandby(oldPrimary, newPrimary, request.replication);
      state.rejoined = true;
      return detail;
    },
  };
}

function switchTraffic(): Step<DrillContext> {
  return {
    name: 'switch-traffic',
    description: 'route the endpoint to the new primary and wait for the first acknowledged probe write there',
    rollbackDescription: 'route the endpoint to whichever node is primary',
    async action({ pair, newPrimary, log }) {
      await pair.traffic.route(newPrimary);
      log.mark('traffic-switched', `endpoint → ${newPrimary}`);
      return `endpoint → ${newPrimary}`;
    },
    async verification({ pair, newPrimary, state, log, request }) {
      const routed = await pair.traffic.current();
      if (routed !== newPrimary) throw new StepFailure('step.routesElsewhere', { routed: routed ?? said('step.routedNowhere'), node: newPrimary });
      const ack = await state.probe!.waitForAck(await pair.serverKey(newPrimary), state.failureAt!, 15_000);
      if (!ack) throw new StepFailure('step.noAckNewPrimary', { node: newPrimary, error: state.probe!.error ?? said('step.noError') });
      log.mark('first-ack-new-primary', `probe write #${ack.seq}`, ack.at);
      state.measurements.rtoMs = ack.at - state.failureAt!;
      log.measure('rto.ms', state.measurements.rtoMs);
      const objective = request.objectives.rtoSeconds * 1000;
      return `first write on ${newPrimary}: #${ack.seq}, RTO ${state.measurements.rtoMs.toFixed(0)} ms (objective ${objective} ms)`;
    },
    async rollback({ pair }) {
      await pair.traffic.route(pair.primary);
      return `endpoint → ${pair.primary}`;
    },
  };
}

function splitBrainCheck(): Step<DrillContext> {
  return {
    name: 'split-brain-check',
    description: 'try a write straight on the old primary: it must be refused',
    async action({ pair, oldPrimary, state, log }) {
      const w = await pair.tryWrite(oldPrimary);
      (state.measurements.splitBrainChecks ??= []).push(`after promotion: ${w.detail}`);
      state.measurements.splitBrainFree = !w.accepted;
      log.measure('splitBrain.afterPromotion', w.accepted ? 'write accepted' : w.detail);
      if (w.accepted) throw new StepFailure('step.splitBrainAfterPromotion', { node: oldPrimary, primary: pair.primary });
      return w.detail;
    },
  };
}

function measureRpo(): Step<DrillContext> {
  return {
    name: 'measure-rpo',
    description: "stop the probe, count acknowledged rows missing on the new primary and the old primary's WAL it never received",
    async action({ pair, newPrimary, oldPrimary, runId, state, log }) {
      const probe = state.probe!;
      await probe.stop();
      state.endOfWal = await pair.endOfWal(oldPrimary, state.startLsn!);
      if (state.endOfWal && state.replayedAtPromotion) {
        log.measure('oldPrimary.endOfWal', state.endOfWal);
        state.measurements.rpoWalBytes = Math.max(0, lsnDiff(state.endOfWal, state.replayedAtPromotion));
        log.measure('rpo.walBytes', state.measurements.rpoWalBytes);
      } else {
        log.note(`the old primary's end of WAL could not be read from its data folder; WAL bytes behind are not reported`);
      }
      const rows = await pair.query<{ seq: number }>(newPrimary, `SELECT seq FROM ${PROBE_TABLE} WHERE run = $1`, [runId]);
      const present = new Set(rows.map((r) => r.seq));
      const missing = probe.acks.filter((a) => !present.has(a.seq));
      const m = state.measurements;
      m.rpoRows = missing.length;
      m.probe = probe.counts(await pair.serverKey(oldPrimary), await pair.serverKey(newPrimary));
      m.rpoDataSeconds = missing.length === 0 ? 0 : (state.failureAt! - missing[0]!.at) / 1000;
      log.measure('rpo.rows', missing.length);
      log.measure('rpo.dataSeconds', m.rpoDataSeconds);
      log.measure('probe.acknowledged', m.probe.acknowledged);
      log.measure('probe.attempted', m.probe.attempted);
      if (missing.length > 0) log.measure('rpo.missingSeqs', missing.slice(0, 50).map((a) => a.seq).join(','));
      return `${m.probe.acknowledged} acknowledged, ${missing.length} missing on ${newPrimary}; ${m.rpoWalBytes ?? 'unknown'} WAL bytes not received`;
    },
  };
}

/** How long failback waits for the rewound old primary to stream on the new primary's timeline. */
export const FAILBACK_STREAM_TIMEOUT_MS = 20_000;

/** The failback step; `streamTimeoutMs` bounds the wait for a streaming standby. */
export function failback(streamTimeoutMs = FAILBACK_STREAM_TIMEOUT_MS): Step<DrillContext> {
  return {
    name: 'failback',
    description: 'pg_rewind the old primary into a streaming standby of the new one; verify it refuses writes',
    async action({ pair, oldPrimary, newPrimary, request, state }) {
      const detail = await pair.rejoinAsStandby(oldPrimary, newPrimary, request.replication);
      state.rejoined = true;
      return detail;
    },
    async verification({ pair, oldPrimary, request, state, log, signal }) {
      // The rejoined standby reconnects once when it crosses to the new timeline; the pair counts as
      // healthy only when it streams on the new primary's timeline (pair.replication() checks both).
      const status = await untilStreaming(pair, streamTimeoutMs, signal);
      if (!status.streaming) {
        throw new StepFailure('step.failbackNotStreaming', { node: oldPrimary, primary: pair.primary, ms: streamTimeoutMs, detail: status.detail, command: statusCommand(request) });
      }
      const w = await pair.tryWrite(oldPrimary);
      (state.measurements.splitBrainChecks ??= []).push(`after failback: ${w.detail}`);
      log.measure('splitBrain.afterFailback', w.accepted ? 'write accepted' : w.detail);
      if (w.accepted) {
        state.measurements.splitBrainFree = false;
        throw new StepFailure('step.splitBrainRejoined', { node: oldPrimary });
      }
      return `${status.detail}; ${oldPrimary}: ${w.detail}`;
    },
  };
}
