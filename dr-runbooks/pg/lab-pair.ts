import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import type { NodeName, ReplicationMode } from '../model.js';
import { type DrPair, type ReplicationStatus, type WalPositions } from '../pair.js';
import { catalogueMessage } from '../../lib/i18n/index.js';
import { reasonParam, StepFailure, waitFor } from '../engine.js';
import { DR_MESSAGES } from '../messages.js';
import { checkCertificate, type CertificateCheck } from '../tls.js';
import { NODES, type PgLab } from './lab.js';

/** Parse the end of valid WAL from pg_waldump's final error ("... invalid record length at 0/30000A0: ..."). */
export function parseEndOfWal(output: string): string | undefined {
  const m = /error in WAL record at [0-9A-Fa-f]+\/[0-9A-Fa-f]+: .*? at ([0-9A-Fa-f]+\/[0-9A-Fa-f]+)/.exec(output);
  return m?.[1];
}

/** The embedded lab as a drill target. */
export class LabPair implements DrPair {
  readonly target = 'pg-local' as const;
  readonly lab: PgLab;

  constructor(lab: PgLab) {
    this.lab = lab;
  }

  get primary(): NodeName {
    return this.lab.primary;
  }
  get standby(): NodeName {
    return this.lab.standby;
  }
  get endpoint(): pg.ClientConfig {
    return this.lab.endpoint();
  }
  get traffic() {
    return this.lab.proxy;
  }

  /** Lab nodes differ by port, and HAProxy connects to each on its own. */
  readonly serverKeySql = 'inet_server_port()::text';
  readonly managesReplicationMode = true;

  async serverKey(node: string): Promise<string> {
    return String(this.lab.node(asNode(node)).port);
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(node: string, sql: string, params: unknown[] = []): Promise<R[]> {
    return this.lab.query<R>(asNode(node), sql, params);
  }

  async replication(): Promise<ReplicationStatus> {
    const app = this.lab.node(this.standby).applicationName;
    let rows: { state: string; sync_state: string; lag: string | null }[];
    try {
      rows = await this.lab.query(this.primary, 'SELECT state, sync_state, (pg_current_wal_lsn() - replay_lsn)::text AS lag FROM pg_stat_replication WHERE application_name = $1', [app]);
    } catch (err) {
      return { streaming: false, detail: `primary ${this.primary} does not answer: ${(err as Error).message}` };
    }
    const row = rows[0];
    if (!row) return { streaming: false, detail: `no walreceiver named ${app} is connected to primary ${this.primary}` };
    if (row.state !== 'streaming') return { streaming: false, syncState: row.sync_state, detail: `standby ${this.standby} is in state "${row.state}", not streaming` };
    let tl: { primary: number; standby: number | undefined };
    try {
      tl = await this.lab.timelines(this.primary, this.standby);
    } catch (err) {
      return { streaming: false, syncState: row.sync_state, detail: `standby ${this.standby} does not answer: ${(err as Error).message}` };
    }
    if (tl.standby !== tl.primary) {
      return {
        streaming: false,
        syncState: row.sync_state,
        detail: `standby ${this.standby} streams timeline ${tl.standby ?? 'none'} while primary ${this.primary} writes timeline ${tl.primary} (it reconnects at the timeline switch)`,
      };
    }
    const [delay] = await this.lab.query<{ s: number | null }>(
      this.standby,
      // With WAL waiting but no transaction replayed since the standby started, the newest replayed
      // one is at least as old as the server: lag is not 0 (a restarted standby with replay paused).
      `SELECT CASE WHEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) <= 0 THEN 0
                   ELSE extract(epoch FROM now() - coalesce(pg_last_xact_replay_timestamp(), pg_postmaster_start_time()))::float8 END AS s`,
    );
    return {
      streaming: true,
      syncState: row.sync_state,
      replayLagBytes: row.lag === null ? 0 : Number(row.lag),
      replayDelaySeconds: delay?.s ?? 0,
      detail: `standby ${this.standby} streaming (${row.sync_state})`,
    };
  }

  async certificates(now: number): Promise<readonly CertificateCheck[]> {
    const checks: CertificateCheck[] = [];
    const ca = this.lab.tlsFiles('dc').caFile;
    const caPem = readFileSync(ca, 'utf8');
    const files = [...NODES.map((n) => this.lab.tlsFiles(n).serverCert), this.lab.tlsFiles('dc').clientCert];
    for (const f of files) checks.push(checkCertificate(f, readFileSync(f, 'utf8'), caPem, now, 24 * 3600_000));
    return checks;
  }

  async replicationMode(): Promise<ReplicationMode> {
    const [row] = await this.lab.query<{ s: string }>(this.primary, "SELECT current_setting('synchronous_standby_names') AS s");
    return row?.s ? 'sync' : 'async';
  }

  setReplicationMode(mode: ReplicationMode): Promise<void> {
    return this.lab.applyReplicationMode(mode);
  }

  async reachable(node: string, timeoutMs: number): Promise<boolean> {
    try {
      await this.lab.query(asNode(node), 'SELECT 1', [], timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  crash(node: string): Promise<number> {
    return this.lab.killNode(asNode(node));
  }

  async stopClean(node: string): Promise<void> {
    await this.lab.stopNode(asNode(node));
  }

  async fence(node: string, on: boolean): Promise<void> {
    this.lab.setStandbySignal(asNode(node), on);
  }

  async start(node: string): Promise<void> {
    await this.lab.startNode(asNode(node));
  }

  async walPositions(standby: string): Promise<WalPositions> {
    const [row] = await this.lab.query<{ receive: string | null; replay: string | null }>(asNode(standby), 'SELECT pg_last_wal_receive_lsn()::text AS receive, pg_last_wal_replay_lsn()::text AS replay');
    return { receive: row?.receive ?? null, replay: row?.replay ?? null };
  }

  async endOfWal(node: string, from: string): Promise<string | undefined> {
    const n = asNode(node);
    await this.lab.waitKilled(n);
    const walDir = join(this.lab.node(n).dataDir, 'pg_wal');
    // The newest timeline among the segment files: after a promotion the control file may still name the old one.
    const timelines = readdirSync(walDir)
      .filter((f) => /^[0-9A-F]{24}$/.test(f))
      .map((f) => Number.parseInt(f.slice(0, 8), 16));
    if (timelines.length === 0) return undefined;
    const timeline = String(Math.max(...timelines));
    const out = await this.lab.tools.run('pg_waldump', ['-t', timeline, '-p', walDir, '-s', from]).nothrow().timeout('30s');
    // pg_waldump always ends with an error at the end of valid WAL; the exit code says nothing more.
    return parseEndOfWal(out.stderr) ?? parseEndOfWal(out.stdout);
  }

  async promote(node: string): Promise<void> {
    // pg_promote(wait => true) checks only every 100 ms; polling pg_is_in_recovery() notices the end of recovery sooner.
    await this.lab.query(asNode(node), 'SELECT pg_promote(false)');
    await waitFor(
      catalogueMessage(DR_MESSAGES, 'step.waitingFor.leaveRecovery', { node }).localized,
      async () => {
        const [row] = await this.lab.query<{ r: boolean }>(asNode(node), 'SELECT pg_is_in_recovery() AS r');
        return row?.r === false ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 10 },
    ).catch((err: Error) => {
      throw new StepFailure('step.seeLog', { reason: reasonParam(err), log: this.lab.logFile(asNode(node)) }, { cause: err });
    });
  }

  tryWrite(node: string): Promise<{ accepted: boolean; detail: string }> {
    return this.lab.tryWrite(asNode(node));
  }

  async rejoinAsStandby(node: string, newPrimary: string, mode: ReplicationMode): Promise<string> {
    const n = asNode(node);
    const p = asNode(newPrimary);
    const target = this.lab.node(n);
    const source = this.lab.node(p);
    await this.lab.waitKilled(n);
    // Right after promotion the source's control file still names the old timeline until its first
    // checkpoint; pg_rewind reads it, and would then record the old timeline as the minimum recovery
    // point's (the rewound node refuses to start: "requested timeline N does not contain minimum
    // recovery point") or wrongly find that no rewind is required.
    await this.lab.query(p, 'CHECKPOINT', [], 60_000).catch((err: Error) => {
      throw new StepFailure('step.checkpointBeforeRewind', { primary: newPrimary, node, why: err.message, log: this.lab.logFile(p) }, { cause: err });
    });
    // pg_rewind's crash recovery runs in single-user mode, which refuses a standby.signal.
    this.lab.setStandbySignal(n, false);
    const rewind = await this.lab.tools
      .run('pg_rewind', ['--target-pgdata', target.dataDir, '--source-server', `host=${source.socketDir} port=${source.port} user=${this.lab.tools.superuser} dbname=postgres`])
      .nothrow()
      .timeout('120s');
    this.lab.setStandbySignal(n, true);
    if (rewind.exitCode !== 0) {
      throw new StepFailure('step.rewindFailed', { node, primary: newPrimary, code: String(rewind.exitCode), stderr: rewind.stderr.trim().split('\n').slice(-3).join(' | ') });
    }
    this.lab.writeConfig(n, { kind: 'standby', upstream: source });
    await this.lab.startNode(n);
    await this.lab.waitStreaming(p, n, 20_000);
    await this.lab.applyReplicationMode(mode);
    const said = `${rewind.stdout}\n${rewind.stderr}`.includes('no rewind required') ? 'no rewind required' : 'rewound';
    return `${node} ${said}, streaming from ${newPrimary} as a ${mode} standby`;
  }

  setPrimary(node: string): void {
    this.lab.setPrimary(asNode(node));
  }
}

function asNode(n: string): NodeName {
  if (n !== 'dc' && n !== 'dr') throw new Error(`no lab node "${n}"; the lab has dc and dr`);
  return n;
}

