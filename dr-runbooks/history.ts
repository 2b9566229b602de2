import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { CatalogueMessage } from '../lib/errors.js';
import { catalogueMessage, inputError, type MessageParams } from '../lib/i18n/index.js';
import { DR_MESSAGES } from './messages.js';
import type { Database, Queryable, SqlMigration, Transaction } from '../lib/sql/index.js';
import type { DrillRequest, DrillResult } from './model.js';
import { alive } from './pg/tools.js';
import { DrillRefusedError, REPLICATION_TLS_MEASURE, type ReplicationTlsObservation } from './runbook.js';

const DR_TABLES = (real: string, bigint: string) => `CREATE TABLE dr_runs (
           id TEXT PRIMARY KEY,
           site TEXT NOT NULL,
           target TEXT NOT NULL,
           scenario TEXT NOT NULL,
           replication TEXT NOT NULL,
           started_at TEXT NOT NULL,
           finished_at TEXT,
           result TEXT NOT NULL CHECK (result IN ('running', 'passed', 'failed', 'aborted')),
           reason TEXT,
           rto_ms ${real},
           rpo_rows ${bigint},
           rpo_wal_bytes ${bigint},
           objective_rto_s ${real} NOT NULL,
           objective_rpo_s ${real} NOT NULL,
           pid INTEGER NOT NULL,
           abort_requested INTEGER NOT NULL DEFAULT 0,
           report TEXT
         );
         CREATE INDEX dr_runs_site ON dr_runs (site, finished_at);
         CREATE TABLE dr_lock (
           name TEXT PRIMARY KEY,
           run_id TEXT NOT NULL,
           pid INTEGER NOT NULL,
           acquired_at TEXT NOT NULL
         );`;

export const DR_MIGRATIONS: readonly SqlMigration[] = [
  {
    description: 'drill runs and the drill lock',
    // SQLite's INTEGER holds 64 bits; PostgreSQL's is 32, too small for WAL bytes.
    up: { sqlite: DR_TABLES('REAL', 'INTEGER'), postgresql: DR_TABLES('double precision', 'bigint') },
  },
  {
    description: 'the host a drill runs on and its heartbeat, so a shared store judges a holder on another machine',
    up: 'ALTER TABLE dr_runs ADD COLUMN host TEXT; ALTER TABLE dr_runs ADD COLUMN heartbeat_at TEXT; ALTER TABLE dr_lock ADD COLUMN host TEXT;',
  },
];

/** A running drill writes its heartbeat this often. */
export const HEARTBEAT_MS = 5_000;
/** A drill on another machine whose heartbeat is older than this is taken as gone. */
export const HEARTBEAT_STALE_MS = 30_000;

/**
 * Whether a lock holder or running drill lives: on this machine its pid answers; on another
 * machine (a shared store) its heartbeat is recent. Rows written before hosts were recorded are
 * judged on this machine, as they were then.
 */
function holderLive(h: { pid: number; host: string | null; heartbeat_at: string | null }, now = Date.now()): boolean {
  if (h.host === null || h.host === hostname()) return alive(h.pid);
  return h.heartbeat_at !== null && now - Date.parse(h.heartbeat_at) < HEARTBEAT_STALE_MS;
}

function holderText(h: { pid: number; host: string | null; heartbeat_at: string | null; acquired_at: string }): CatalogueMessage {
  const said = (key: string, params: MessageParams = {}) => catalogueMessage(DR_MESSAGES, key, params).localized;
  if (h.host === null || h.host === hostname()) return said('refuse.holderHere', { pid: h.pid, since: h.acquired_at });
  return said('refuse.holderElsewhere', { pid: h.pid, host: h.host, since: h.acquired_at, heard: h.heartbeat_at ?? said('refuse.never') });
}

/**
 * Every write to the drill history and its lock holds this lock (the database's write lock on
 * SQLite, an advisory lock on PostgreSQL): checking who holds a pair and taking it is one step
 * for every process on the store.
 */
export const DR_LOCK = 'dr';

export type RunStatus = DrillResult | 'running';

export interface DrillRun {
  readonly id: string;
  readonly site: string;
  readonly target: string;
  readonly scenario: string;
  readonly replication: string;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly result: RunStatus;
  readonly reason?: string;
  readonly rtoMs?: number;
  readonly rpoRows?: number;
  readonly rpoWalBytes?: number;
  readonly objectiveRtoSeconds: number;
  readonly objectiveRpoSeconds: number;
  readonly pid: number;
  readonly abortRequested: boolean;
}

interface Row {
  id: string;
  site: string;
  target: string;
  scenario: string;
  replication: string;
  started_at: string;
  finished_at: string | null;
  result: RunStatus;
  reason: string | null;
  rto_ms: number | null;
  rpo_rows: number | null;
  rpo_wal_bytes: number | null;
  objective_rto_s: number;
  objective_rpo_s: number;
  pid: number;
  abort_requested: number;
}

function toRun(r: Row): DrillRun {
  return {
    id: r.id,
    site: r.site,
    target: r.target,
    scenario: r.scenario,
    replication: r.replication,
    startedAt: r.started_at,
    ...(r.finished_at === null ? {} : { finishedAt: r.finished_at }),
    result: r.result,
    ...(r.reason === null ? {} : { reason: r.reason }),
    ...(r.rto_ms === null ? {} : { rtoMs: r.rto_ms }),
    ...(r.rpo_rows === null ? {} : { rpoRows: r.rpo_rows }),
    ...(r.rpo_wal_bytes === null ? {} : { rpoWalBytes: r.rpo_wal_bytes }),
    objectiveRtoSeconds: r.objective_rto_s,
    objectiveRpoSeconds: r.objective_rpo_s,
    pid: r.pid,
    abortRequested: r.abort_requested === 1,
  };
}

export function newRunId(site: string, at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `dr-${stamp}-${site}-${randomBytes(2).toString('hex')}`;
}

/** Drill history and the drill lock in the state store. */
export class DrillHistory {
  private constructor(private readonly db: Database) {}

  /** The drill history of `db`, its tables created or migrated first. */
  static async open(db: Database): Promise<DrillHistory> {
    await db.migrate('dr', DR_MIGRATIONS);
    return new DrillHistory(db);
  }

  private write<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.db.write(fn, { locks: [DR_LOCK] });
  }

  /**
   * Take the lock for a pair and record the run as running, in one transaction. Refuses when a live
   * drill holds it; a lock left by a drill that is gone is taken over. A holder on this machine is
   * alive while its pid is; one on another machine (a shared store) while its heartbeat is younger
   * than HEARTBEAT_STALE_MS.
   */
  begin(lockName: string, runId: string, request: DrillRequest, pid: number = process.pid): Promise<{ tookOverFrom?: string }> {
    return this.write(async (tx) => {
      const [held] = await tx.query<{ run_id: string; pid: number; acquired_at: string; host: string | null; heartbeat_at: string | null }>(
        'SELECT l.run_id, l.pid, l.acquired_at, l.host, r.heartbeat_at FROM dr_lock l LEFT JOIN dr_runs r ON r.id = l.run_id WHERE l.name = $1',
        [lockName],
      );
      let tookOverFrom: string | undefined;
      if (held) {
        if (holderLive(held)) {
          throw DrillRefusedError.of('lockHeld', { run: held.run_id, holder: holderText(held), lock: lockName });
        }
        tookOverFrom = held.run_id;
        await tx.run("UPDATE dr_runs SET result = 'aborted', finished_at = $1, reason = 'its process ended without finishing' WHERE id = $2 AND result = 'running'", [new Date().toISOString(), held.run_id]);
        await tx.run('DELETE FROM dr_lock WHERE name = $1', [lockName]);
      }
      const now = new Date().toISOString();
      await tx.run('INSERT INTO dr_lock (name, run_id, pid, acquired_at, host) VALUES ($1, $2, $3, $4, $5)', [lockName, runId, pid, now, hostname()]);
      await tx.run(
        `INSERT INTO dr_runs (id, site, target, scenario, replication, started_at, result, objective_rto_s, objective_rpo_s, pid, host, heartbeat_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $9, $10, $6)`,
        [runId, request.site, request.target, request.scenario, request.replication, now, request.objectives.rtoSeconds, request.objectives.rpoSeconds, pid, hostname()],
      );
      return tookOverFrom === undefined ? {} : { tookOverFrom };
    });
  }

  /** A running drill says it is alive (for processes on other machines sharing the store). */
  async heartbeat(runId: string): Promise<void> {
    await this.db.run("UPDATE dr_runs SET heartbeat_at = $1 WHERE id = $2 AND result = 'running'", [new Date().toISOString(), runId]);
  }

  /** Forget a run that was refused before it changed anything, and release its lock. */
  async discard(lockName: string, runId: string): Promise<void> {
    await this.write(async (tx) => {
      await tx.run('DELETE FROM dr_runs WHERE id = $1', [runId]);
      await tx.run('DELETE FROM dr_lock WHERE name = $1 AND run_id = $2', [lockName, runId]);
    });
  }

  async finish(lockName: string, runId: string, outcome: { result: DrillResult; reason?: string; rtoMs?: number; rpoRows?: number; rpoWalBytes?: number; report: unknown }): Promise<void> {
    await this.write(async (tx) => {
      await tx.run('UPDATE dr_runs SET result = $1, reason = $2, finished_at = $3, rto_ms = $4, rpo_rows = $5, rpo_wal_bytes = $6, report = $7 WHERE id = $8', [
        outcome.result,
        outcome.reason ?? null,
        new Date().toISOString(),
        outcome.rtoMs ?? null,
        outcome.rpoRows ?? null,
        outcome.rpoWalBytes ?? null,
        JSON.stringify(outcome.report),
        runId,
      ]);
      await tx.run('DELETE FROM dr_lock WHERE name = $1 AND run_id = $2', [lockName, runId]);
    });
  }

  get(id: string): Promise<DrillRun | undefined> {
    return getRun(this.db, id);
  }

  /** The run's stored report; throws naming the known runs when absent. */
  async report(id: string): Promise<unknown> {
    const [r] = await this.db.query<{ report: string | null; result: string }>('SELECT report, result FROM dr_runs WHERE id = $1', [id]);
    if (!r) throw inputError(DR_MESSAGES, 'history.noRun', { id });
    if (r.report === null) throw inputError(DR_MESSAGES, 'history.noReport', { id, result: r.result });
    return JSON.parse(r.report) as unknown;
  }

  async list(opts: { site?: string; limit?: number } = {}): Promise<DrillRun[]> {
    const rows =
      opts.site === undefined
        ? await this.db.query<Row>('SELECT * FROM dr_runs ORDER BY started_at DESC, id DESC LIMIT $1', [opts.limit ?? 1000])
        : await this.db.query<Row>('SELECT * FROM dr_runs WHERE site = $1 ORDER BY started_at DESC, id DESC LIMIT $2', [opts.site, opts.limit ?? 1000]);
    return rows.map(toRun);
  }

  /**
   * Ask a running drill to stop; it runs its rollbacks (a drill on another machine sees the
   * request at its next look at the store). A "running" drill that is gone (its process here, or
   * its heartbeat from another machine) is marked aborted at once.
   */
  requestAbort(id: string): Promise<'requested' | 'marked-aborted'> {
    return this.write(async (tx) => {
      const run = await getRun(tx, id);
      if (!run) throw inputError(DR_MESSAGES, 'history.noRun', { id });
      if (run.result !== 'running') throw inputError(DR_MESSAGES, 'history.finished', { id, result: run.result });
      const [where] = await tx.query<{ host: string | null; heartbeat_at: string | null }>('SELECT host, heartbeat_at FROM dr_runs WHERE id = $1', [id]);
      if (!holderLive({ pid: run.pid, host: where?.host ?? null, heartbeat_at: where?.heartbeat_at ?? null })) {
        await tx.run("UPDATE dr_runs SET result = 'aborted', finished_at = $1, reason = 'its process ended without finishing' WHERE id = $2", [new Date().toISOString(), id]);
        await tx.run('DELETE FROM dr_lock WHERE run_id = $1', [id]);
        return 'marked-aborted';
      }
      await tx.run('UPDATE dr_runs SET abort_requested = 1 WHERE id = $1', [id]);
      return 'requested';
    });
  }

  async abortRequested(id: string): Promise<boolean> {
    const [r] = await this.db.query<{ abort_requested: number }>('SELECT abort_requested FROM dr_runs WHERE id = $1', [id]);
    return r?.abort_requested === 1;
  }

  /** Sites with a passed drill that finished within `days` before `now`. */
  async recentPassed(now: Date = new Date(), days = 90): Promise<Set<string>> {
    const since = new Date(now.getTime() - days * 86_400_000).toISOString();
    const rows = await this.db.query<{ site: string }>("SELECT DISTINCT site FROM dr_runs WHERE result = 'passed' AND finished_at >= $1", [since]);
    return new Set(rows.map((r) => r.site));
  }

  /**
   * What the run's preflight saw on the replication connection (pg_stat_ssl on the primary);
   * undefined when the run has no report or recorded no observation.
   */
  async replicationTls(id: string): Promise<ReplicationTlsObservation | undefined> {
    const [r] = await this.db.query<{ report: string | null }>('SELECT report FROM dr_runs WHERE id = $1', [id]);
    if (!r?.report) return undefined;
    const report = JSON.parse(r.report) as { events?: { type: string; name?: string; value?: unknown }[] } | null;
    const m = report?.events?.find((e) => e.type === 'measure' && e.name === REPLICATION_TLS_MEASURE);
    return m === undefined ? undefined : (m.value as ReplicationTlsObservation);
  }

  /**
   * Drills against real pairs (`--target pg`) only: lab drills (`pg-local`, both servers on the
   * operator's machine) prove the runbook, not a DR center. `finished` counts every finished one;
   * `recentPassed` holds the sites with one passed within `days` before `now`.
   */
  async realPairDrills(now: Date = new Date(), days = 90): Promise<{ finished: number; recentPassed: Set<string> }> {
    const since = new Date(now.getTime() - days * 86_400_000).toISOString();
    const [count] = await this.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM dr_runs WHERE target = 'pg' AND finished_at IS NOT NULL AND result != 'running'");
    const rows = await this.db.query<{ site: string }>("SELECT DISTINCT site FROM dr_runs WHERE target = 'pg' AND result = 'passed' AND finished_at >= $1", [since]);
    return { finished: count!.n, recentPassed: new Set(rows.map((r) => r.site)) };
  }

  /** The latest finished run of each site. */
  async latestPerSite(): Promise<DrillRun[]> {
    const rows = await this.db.query<Row>(
      `SELECT r.* FROM dr_runs r
       JOIN (SELECT site, MAX(finished_at) AS f FROM dr_runs WHERE finished_at IS NOT NULL AND result != 'running' GROUP BY site) l
         ON l.site = r.site AND l.f = r.finished_at
       ORDER BY r.site`,
    );
    return rows.map(toRun);
  }
}

async function getRun(q: Queryable, id: string): Promise<DrillRun | undefined> {
  const [r] = await q.query<Row>('SELECT * FROM dr_runs WHERE id = $1', [id]);
  return r ? toRun(r) : undefined;
}
