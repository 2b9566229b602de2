import { randomBytes } from 'node:crypto';
import { InputError } from '../lib/errors.js';
import type { Migration, StateStore } from '../lib/state.js';
import type { DrillRequest, DrillResult } from './model.js';
import { alive } from './pg/tools.js';
import { DrillRefusedError, REPLICATION_TLS_MEASURE, type ReplicationTlsObservation } from './runbook.js';

export const DR_MIGRATIONS: readonly Migration[] = [
  {
    description: 'drill runs and the drill lock',
    up: `CREATE TABLE dr_runs (
           id TEXT PRIMARY KEY,
           site TEXT NOT NULL,
           target TEXT NOT NULL,
           scenario TEXT NOT NULL,
           replication TEXT NOT NULL,
           started_at TEXT NOT NULL,
           finished_at TEXT,
           result TEXT NOT NULL CHECK (result IN ('running', 'passed', 'failed', 'aborted')),
           reason TEXT,
           rto_ms REAL,
           rpo_rows INTEGER,
           rpo_wal_bytes INTEGER,
           objective_rto_s REAL NOT NULL,
           objective_rpo_s REAL NOT NULL,
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
         );`,
  },
];

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
  readonly store: StateStore;

  constructor(store: StateStore) {
    this.store = store;
    store.migrate('dr', DR_MIGRATIONS);
  }

  /**
   * Take the lock for a pair and record the run as running, in one transaction. Refuses when a live
   * drill holds it; a lock left by a process that no longer exists is taken over.
   */
  begin(lockName: string, runId: string, request: DrillRequest, pid: number = process.pid): { tookOverFrom?: string } {
    return this.store.write(() => {
      const held = this.store.db.prepare('SELECT run_id, pid, acquired_at FROM dr_lock WHERE name = ?').get(lockName) as { run_id: string; pid: number; acquired_at: string } | undefined;
      let tookOverFrom: string | undefined;
      if (held) {
        if (alive(held.pid)) {
          throw new DrillRefusedError(
            `refusing to start the drill: drill ${held.run_id} (pid ${held.pid}, since ${held.acquired_at}) holds the lock on ${lockName}; wait for it or stop it with: jinbao drill abort ${held.run_id}`,
          );
        }
        tookOverFrom = held.run_id;
        this.store.db.prepare("UPDATE dr_runs SET result = 'aborted', finished_at = ?, reason = 'its process ended without finishing' WHERE id = ? AND result = 'running'").run(new Date().toISOString(), held.run_id);
        this.store.db.prepare('DELETE FROM dr_lock WHERE name = ?').run(lockName);
      }
      this.store.db.prepare('INSERT INTO dr_lock (name, run_id, pid, acquired_at) VALUES (?, ?, ?, ?)').run(lockName, runId, pid, new Date().toISOString());
      this.store.db
        .prepare(
          `INSERT INTO dr_runs (id, site, target, scenario, replication, started_at, result, objective_rto_s, objective_rpo_s, pid)
           VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)`,
        )
        .run(runId, request.site, request.target, request.scenario, request.replication, new Date().toISOString(), request.objectives.rtoSeconds, request.objectives.rpoSeconds, pid);
      return tookOverFrom === undefined ? {} : { tookOverFrom };
    });
  }

  /** Forget a run that was refused before it changed anything, and release its lock. */
  discard(lockName: string, runId: string): void {
    this.store.write(() => {
      this.store.db.prepare('DELETE FROM dr_runs WHERE id = ?').run(runId);
      this.store.db.prepare('DELETE FROM dr_lock WHERE name = ? AND run_id = ?').run(lockName, runId);
    });
  }

  finish(lockName: string, runId: string, outcome: { result: DrillResult; reason?: string; rtoMs?: number; rpoRows?: number; rpoWalBytes?: number; report: unknown }): void {
    this.store.write(() => {
      this.store.db
        .prepare('UPDATE dr_runs SET result = ?, reason = ?, finished_at = ?, rto_ms = ?, rpo_rows = ?, rpo_wal_bytes = ?, report = ? WHERE id = ?')
        .run(outcome.result, outcome.reason ?? null, new Date().toISOString(), outcome.rtoMs ?? null, outcome.rpoRows ?? null, outcome.rpoWalBytes ?? null, JSON.stringify(outcome.report), runId);
      this.store.db.prepare('DELETE FROM dr_lock WHERE name = ? AND run_id = ?').run(lockName, runId);
    });
  }

  get(id: string): DrillRun | undefined {
    const r = this.store.db.prepare('SELECT * FROM dr_runs WHERE id = ?').get(id) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  /** The run's stored report; throws naming the known runs when absent. */
  report(id: string): unknown {
    const r = this.store.db.prepare('SELECT report, result FROM dr_runs WHERE id = ?').get(id) as { report: string | null; result: string } | undefined;
    if (!r) throw new InputError(`no drill run "${id}" in the state store; list runs with: jinbao drill list`);
    if (r.report === null) throw new InputError(`drill run "${id}" is ${r.result} and has no report yet; wait for it to finish`);
    return JSON.parse(r.report) as unknown;
  }

  list(opts: { site?: string; limit?: number } = {}): DrillRun[] {
    const rows = (
      opts.site === undefined
        ? this.store.db.prepare('SELECT * FROM dr_runs ORDER BY started_at DESC, id DESC LIMIT ?').all(opts.limit ?? 1000)
        : this.store.db.prepare('SELECT * FROM dr_runs WHERE site = ? ORDER BY started_at DESC, id DESC LIMIT ?').all(opts.site, opts.limit ?? 1000)
    ) as Row[];
    return rows.map(toRun);
  }

  /**
   * Ask a running drill to stop; it runs its rollbacks. A "running" drill whose process is gone
   * is marked aborted at once.
   */
  requestAbort(id: string): 'requested' | 'marked-aborted' {
    return this.store.write(() => {
      const run = this.get(id);
      if (!run) throw new InputError(`no drill run "${id}" in the state store; list runs with: jinbao drill list`);
      if (run.result !== 'running') throw new InputError(`drill run "${id}" already finished (${run.result}); nothing to abort`);
      if (!alive(run.pid)) {
        this.store.db.prepare("UPDATE dr_runs SET result = 'aborted', finished_at = ?, reason = 'its process ended without finishing' WHERE id = ?").run(new Date().toISOString(), id);
        this.store.db.prepare('DELETE FROM dr_lock WHERE run_id = ?').run(id);
        return 'marked-aborted';
      }
      this.store.db.prepare('UPDATE dr_runs SET abort_requested = 1 WHERE id = ?').run(id);
      return 'requested';
    });
  }

  abortRequested(id: string): boolean {
    const r = this.store.db.prepare('SELECT abort_requested FROM dr_runs WHERE id = ?').get(id) as { abort_requested: number } | undefined;
    return r?.abort_requested === 1;
  }

  /** Sites with a passed drill that finished within `days` before `now`. */
  recentPassed(now: Date = new Date(), days = 90): Set<string> {
    const since = new Date(now.getTime() - days * 86_400_000).toISOString();
    const rows = this.store.db.prepare("SELECT DISTINCT site FROM dr_runs WHERE result = 'passed' AND finished_at >= ?").all(since) as { site: string }[];
    return new Set(rows.map((r) => r.site));
  }

  /**
   * What the run's preflight saw on the replication connection (pg_stat_ssl on the primary);
   * undefined when the run has no report or recorded no observation.
   */
  replicationTls(id: string): ReplicationTlsObservation | undefined {
    const r = this.store.db.prepare('SELECT report FROM dr_runs WHERE id = ?').get(id) as { report: string | null } | undefined;
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
  realPairDrills(now: Date = new Date(), days = 90): { finished: number; recentPassed: Set<string> } {
    const since = new Date(now.getTime() - days * 86_400_000).toISOString();
    const finished = (this.store.db.prepare("SELECT COUNT(*) AS n FROM dr_runs WHERE target = 'pg' AND finished_at IS NOT NULL AND result != 'running'").get() as { n: number }).n;
    const rows = this.store.db.prepare("SELECT DISTINCT site FROM dr_runs WHERE target = 'pg' AND result = 'passed' AND finished_at >= ?").all(since) as { site: string }[];
    return { finished, recentPassed: new Set(rows.map((r) => r.site)) };
  }

  /** The latest finished run of each site. */
  latestPerSite(): DrillRun[] {
    const rows = this.store.db
      .prepare(
        `SELECT r.* FROM dr_runs r
         JOIN (SELECT site, MAX(finished_at) AS f FROM dr_runs WHERE finished_at IS NOT NULL AND result != 'running' GROUP BY site) l
           ON l.site = r.site AND l.f = r.finished_at
         ORDER BY r.site`,
      )
      .all() as Row[];
    return rows.map(toRun);
  }
}
