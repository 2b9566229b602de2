import { readFileSync } from 'node:fs';
import pg from 'pg';
import { JinbaoError, type CatalogueMessage } from '../../lib/errors.js';
import { catalogueMessage } from '../../lib/i18n/index.js';
import { connectErrorMessage, settleTls } from '../../lib/pg-client.js';
import { DR_MESSAGES } from '../messages.js';
import type { PgClientOptions } from '../../lib/pg-conn.js';
import { StepFailure, waitFor } from '../engine.js';
import type { ReplicationMode } from '../model.js';
import { attemptWrite, type DrPair, type ReplicationStatus, type WalPositions } from '../pair.js';
import type { TrafficSwitch } from '../proxy.js';
import { DrillRefusedError } from '../runbook.js';
import { checkCertificate, problem, type CertificateCheck } from '../tls.js';
import { parseEndOfWal } from './lab-pair.js';
import { OperatorCommands, type CommandRecord } from './operator.js';
import type { PairConfig, PairNodeConfig } from './pair-config.js';
import { fetchServerCertificate } from './server-cert.js';

/**
 * A node's postmaster start time, as seconds since the epoch (timezone-free). It tells the two
 * servers of a pair apart whatever sits between the probe and them (a proxy, a virtual IP, the
 * same port on two hosts), and changes when a server restarts.
 */
export const SERVER_KEY_SQL = 'extract(epoch from pg_postmaster_start_time())::text';

/** How long a node's admin connection may take to open. */
const CONNECT_TIMEOUT_MS = 3_000;
const QUERY_TIMEOUT_MS = 10_000;

export interface RemotePairOptions {
  readonly site: string;
  /** Runs the operator commands (tests inject one with a mocked spawn). */
  readonly commands?: OperatorCommands;
  /** Open a client for a connection string (tests may wrap it). */
  readonly client?: (config: pg.ClientConfig) => pg.Client;
}

/**
 * Target `pg`: an existing primary/standby pair reached by connection strings. Everything
 * PostgreSQL can tell or do over SQL (roles, replication, lag, LSNs, promotion, a write attempt) is
 * done over SQL; what only the machines can do (kill, stop, start, fence a server, move the
 * endpoint, rejoin a rewound node) runs the operator's commands from the pair file. Roles are
 * discovered, not configured: the node out of recovery is the primary.
 */
export class RemotePair implements DrPair {
  readonly target = 'pg' as const;
  readonly serverKeySql = SERVER_KEY_SQL;
  readonly config: PairConfig;
  readonly commands: OperatorCommands;
  readonly traffic: TrafficSwitch;
  private roles: { primary: string; standby: string };
  private readonly keys = new Map<string, string>();
  private readonly clients = new Map<string, pg.Client>();
  private readonly newClient: (config: pg.ClientConfig) => pg.Client;
  private note?: (text: string) => void;
  /** Per node, and for the endpoint: the options to connect with (TLS settled) and what that TLS does. */
  private readonly settled: ReadonlyMap<string, Settled>;
  private readonly settledEndpoint: Settled;

  private constructor(config: PairConfig, roles: { primary: string; standby: string }, opts: RemotePairOptions, settled: { nodes: ReadonlyMap<string, Settled>; endpoint: Settled }) {
    this.config = config;
    this.roles = roles;
    this.settled = settled.nodes;
    this.settledEndpoint = settled.endpoint;
    this.commands = opts.commands ?? new OperatorCommands(config, opts.site);
    this.newClient = opts.client ?? ((c) => new pg.Client(c));
    this.commands.onRun = (r) => this.note?.(describeRun(r));
    this.traffic = new CommandTraffic(this);
  }

  /**
   * Connect to both nodes and find the primary. Refuses (nothing changed) when a node does not
   * answer, or when both or neither are out of recovery.
   */
  static async open(config: PairConfig, opts: RemotePairOptions): Promise<RemotePair> {
    const nodes = new Map<string, Settled>();
    const refuse = (what: CatalogueMessage, field: string, err: unknown) => DrillRefusedError.of('noAnswer', { what, why: (err as Error).message, field, source: config.source });
    for (const n of config.nodes) {
      nodes.set(n.name, await settleTls(n.conn, CONNECT_TIMEOUT_MS).catch((err: unknown) => Promise.reject(refuse(catalogueMessage(DR_MESSAGES, 'refuse.node', { node: n.name, host: n.host, port: n.port }).localized, `nodes.${n.name}.connection`, err))));
    }
    const ep = config.endpointConn;
    const endpoint = await settleTls(ep, CONNECT_TIMEOUT_MS).catch((err: unknown) => Promise.reject(refuse(catalogueMessage(DR_MESSAGES, 'refuse.endpoint', { host: ep.host, port: ep.port }).localized, 'endpoint', err)));
    const settled = { nodes, endpoint };
    const probe = new RemotePair(config, { primary: config.nodes[0].name, standby: config.nodes[1].name }, opts, settled);
    const inRecovery = new Map<string, boolean>();
    try {
      for (const n of config.nodes) {
        let rows: { r: boolean }[];
        try {
          rows = await probe.query<{ r: boolean }>(n.name, 'SELECT pg_is_in_recovery() AS r');
        } catch (err) {
          throw DrillRefusedError.of('noAnswer', { what: catalogueMessage(DR_MESSAGES, 'refuse.node', { node: n.name, host: n.host, port: n.port }).localized, why: connectErrorMessage(err, n.conn), field: `nodes.${n.name}.connection`, source: config.source });
        }
        inRecovery.set(n.name, rows[0]!.r);
      }
    } finally {
      await probe.close();
    }
    const primaries = config.nodes.filter((n) => inRecovery.get(n.name) === false).map((n) => n.name);
    if (primaries.length === 2) throw DrillRefusedError.of('twoPrimaries', { first: primaries[0]!, second: primaries[1]! });
    if (primaries.length === 0) throw DrillRefusedError.of('noPrimary', { first: config.nodes[0].name, second: config.nodes[1].name });
    const primary = primaries[0]!;
    return new RemotePair(config, { primary, standby: config.nodes.find((n) => n.name !== primary)!.name }, opts, settled);
  }

  /** What TLS each connection uses, as settled with the servers: "TLS, server verified against …". */
  get connectionSecurity(): readonly { readonly connection: string; readonly tls: string }[] {
    return [...this.config.nodes.map((n) => ({ connection: `${n.name} (${n.host}:${n.port})`, tls: this.settled.get(n.name)!.tls })), { connection: `endpoint (${this.config.endpointConn.host}:${this.config.endpointConn.port})`, tls: this.settledEndpoint.tls }];
  }

  private options(node: string): PgClientOptions {
    this.node(node);
    return this.settled.get(node)!.config;
  }

  get primary(): string {
    return this.roles.primary;
  }
  get standby(): string {
    return this.roles.standby;
  }
  get endpoint(): pg.ClientConfig {
    return this.settledEndpoint.config;
  }
  get managesReplicationMode(): boolean {
    return this.config.manageReplication;
  }

  /** Operator commands and their outcomes go to the drill's event log. */
  observe(note: (text: string) => void): void {
    this.note = note;
    for (const c of this.connectionSecurity) note(`connection to ${c.connection}: ${c.tls}`);
  }

  node(name: string): PairNodeConfig {
    const n = this.config.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node "${name}" in ${this.config.source}; it has ${this.config.nodes.map((x) => x.name).join(' and ')}`);
    return n;
  }

  setPrimary(node: string): void {
    this.roles = { primary: node, standby: this.config.nodes.find((n) => n.name !== node)!.name };
  }

  async serverKey(node: string): Promise<string> {
    const known = this.keys.get(node);
    if (known !== undefined) return known;
    const [row] = await this.query<{ k: string }>(node, `SELECT (${SERVER_KEY_SQL}) AS k`);
    this.keys.set(node, row!.k);
    return row!.k;
  }

  /** The node whose key this is, if known. */
  nodeOfKey(key: string): string | undefined {
    for (const [node, k] of this.keys) if (k === key) return node;
    return undefined;
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(node: string, sql: string, params: unknown[] = []): Promise<R[]> {
    let client = this.clients.get(node);
    if (!client) {
      client = this.newClient({ ...this.options(node), connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS, application_name: 'jinbao_drill' });
      const c = client;
      c.on('error', () => {
        if (this.clients.get(node) === c) this.clients.delete(node);
      });
      try {
        await c.connect();
      } catch (err) {
        await c.end().catch(() => undefined);
        throw err;
      }
      this.clients.set(node, c);
    }
    try {
      return (await client.query<R>(sql, params)).rows;
    } catch (err) {
      // A broken connection is dropped; a statement the server refused leaves it usable.
      if (!(err instanceof pg.DatabaseError)) {
        this.clients.delete(node);
        await client.end().catch(() => undefined);
      }
      throw err;
    }
  }

  /** Close the admin connections. */
  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.end().catch(() => undefined)));
  }

  async replication(): Promise<ReplicationStatus> {
    const { primary, standby } = this.roles;
    let rows: { app: string; state: string; sync_state: string; lag: string | null }[];
    try {
      rows = await this.query(primary, 'SELECT application_name AS app, state, sync_state, (pg_current_wal_lsn() - replay_lsn)::text AS lag FROM pg_stat_replication');
    } catch (err) {
      return { streaming: false, detail: `primary ${primary} does not answer: ${(err as Error).message}` };
    }
    const app = this.node(standby).applicationName;
    const row = app !== undefined ? rows.find((r) => r.app === app) : rows.length === 1 ? rows[0] : undefined;
    if (!row) {
      if (app === undefined && rows.length > 1) {
        return { streaming: false, detail: `primary ${primary} has ${rows.length} walsenders (${rows.map((r) => r.app).join(', ')}); set nodes.${standby}.applicationName in ${this.config.source} to name the standby` };
      }
      return { streaming: false, detail: app === undefined ? `no standby is connected to primary ${primary}` : `no walreceiver named ${app} is connected to primary ${primary}` };
    }
    if (row.state !== 'streaming') return { streaming: false, syncState: row.sync_state, detail: `standby ${standby} is in state "${row.state}", not streaming` };
    let tl: { primary: number; standby: number | undefined };
    let delay: number;
    try {
      const [p] = await this.query<{ tli: string }>(primary, 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli');
      const [s] = await this.query<{ tli: number | null; s: number | null }>(
        standby,
        `SELECT (SELECT received_tli FROM pg_stat_wal_receiver WHERE status = 'streaming') AS tli,
                CASE WHEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) <= 0 THEN 0
                     ELSE extract(epoch FROM now() - coalesce(pg_last_xact_replay_timestamp(), pg_postmaster_start_time()))::float8 END AS s`,
      );
      tl = { primary: Number.parseInt(p!.tli, 16), standby: s?.tli ?? undefined };
      delay = s?.s ?? 0;
    } catch (err) {
      return { streaming: false, syncState: row.sync_state, detail: `standby ${standby} does not answer: ${(err as Error).message}` };
    }
    if (tl.standby !== tl.primary) {
      return { streaming: false, syncState: row.sync_state, detail: `standby ${standby} streams timeline ${tl.standby ?? 'none'} while primary ${primary} writes timeline ${tl.primary} (it reconnects at the timeline switch)` };
    }
    return { streaming: true, syncState: row.sync_state, replayLagBytes: row.lag === null ? 0 : Number(row.lag), replayDelaySeconds: delay, detail: `standby ${standby} streaming (${row.sync_state})` };
  }

  /**
   * The certificates each server presents on a TLS request (checked against the pair file's CA when
   * given), and the certificate files the file lists. A server without TLS is a problem unless the
   * file says `tls.required: false`.
   */
  async certificates(now: number): Promise<readonly CertificateCheck[]> {
    const tls = this.config.tls;
    const checks: CertificateCheck[] = [];
    let caPem: string | undefined;
    if (tls.caFile !== undefined) {
      try {
        caPem = readFileSync(tls.caFile, 'utf8');
      } catch (err) {
        return [{ file: tls.caFile, subject: '?', notAfter: '?', ...problem('caUnreadable', { source: this.config.source, why: (err as Error).message }) }];
      }
    }
    for (const n of this.config.nodes) {
      const label = `${n.name} (${n.host}:${n.port})`;
      if (n.host.startsWith('/')) {
        checks.push({ file: label, subject: '?', notAfter: '?', ...(tls.required ? problem('unixSocket', {}) : {}) });
        continue;
      }
      const presented = await fetchServerCertificate(n.host, n.port).catch((err: Error) => err);
      if (presented instanceof Error) checks.push({ file: label, subject: '?', notAfter: '?', problem: presented.message, ...(presented instanceof JinbaoError && presented.localized ? { localizedProblem: presented.localized } : {}) });
      else if (!presented.tls) checks.push({ file: label, subject: '?', notAfter: '?', ...(tls.required ? problem('noTls', {}) : {}) });
      else checks.push(checkCertificate(label, presented.pem, caPem, now, 24 * 3600_000));
    }
    for (const f of tls.files) {
      let pem: string;
      try {
        pem = readFileSync(f, 'utf8');
      } catch (err) {
        checks.push({ file: f, subject: '?', notAfter: '?', ...problem('unreadable', { why: (err as Error).message }) });
        continue;
      }
      checks.push(checkCertificate(f, pem, caPem, now, 24 * 3600_000));
    }
    // Servers that offer no TLS, where that is allowed, have nothing to report.
    return checks.filter((c) => c.problem !== undefined || c.notAfter !== '?');
  }

  async replicationMode(): Promise<ReplicationMode> {
    const [row] = await this.query<{ s: string }>(this.primary, "SELECT current_setting('synchronous_standby_names') AS s");
    return row?.s ? 'sync' : 'async';
  }

  /** ALTER SYSTEM on the primary, then reload; only when the pair file allows it. */
  async setReplicationMode(mode: ReplicationMode): Promise<void> {
    if (!this.config.manageReplication) {
      throw new StepFailure('step.replicationNotManaged', { source: this.config.source });
    }
    let name = this.node(this.standby).applicationName;
    if (mode === 'sync' && name === undefined) {
      const rows = await this.query<{ app: string }>(this.primary, 'SELECT application_name AS app FROM pg_stat_replication');
      if (rows.length !== 1) throw new StepFailure('step.walsenderAmbiguous', { count: rows.length, node: this.standby, source: this.config.source });
      name = rows[0]!.app;
    }
    const value = mode === 'sync' ? `"${name!.replace(/"/g, '""')}"` : '';
    await this.query(this.primary, `ALTER SYSTEM SET synchronous_standby_names = '${value.replace(/'/g, "''")}'`);
    await this.query(this.primary, 'SELECT pg_reload_conf()');
    await waitFor(
      `${this.primary} to run with synchronous_standby_names = '${value}'`,
      async () => {
        const [row] = await this.query<{ s: string }>(this.primary, "SELECT current_setting('synchronous_standby_names') AS s");
        return row?.s === value ? true : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
  }

  /** A fresh connection: a cached one could outlive the server it talks to. */
  async reachable(node: string, timeoutMs: number): Promise<boolean> {
    const client = this.newClient({ ...this.options(node), connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs, application_name: 'jinbao_drill' });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async crash(node: string): Promise<number> {
    // The failure is taken to happen when the command starts: RTO then includes the command's own latency (it errs long).
    const at = performance.timeOrigin + performance.now();
    this.forgetClient(node);
    await this.commands.run('crash', node);
    return at;
  }

  async stopClean(node: string): Promise<void> {
    this.forgetClient(node);
    await this.commands.run('stop', node);
  }

  async fence(node: string, on: boolean): Promise<void> {
    await this.commands.run(on ? 'fence' : 'unfence', node);
  }

  /** Runs the start command unless the node already answers (the command need not be idempotent). */
  async start(node: string): Promise<void> {
    if (await this.reachable(node, 1_000)) return;
    this.forget(node);
    await this.commands.run('start', node);
    await waitFor(catalogueMessage(DR_MESSAGES, 'step.waitingFor.answerAfter', { node, command: 'start' }).localized, async () => ((await this.reachable(node, 1_000)) ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
  }

  async walPositions(standby: string): Promise<WalPositions> {
    const [row] = await this.query<{ receive: string | null; replay: string | null }>(standby, 'SELECT pg_last_wal_receive_lsn()::text AS receive, pg_last_wal_replay_lsn()::text AS replay');
    return { receive: row?.receive ?? null, replay: row?.replay ?? null };
  }

  /** From the operator's endOfWal command: a bare LSN, or pg_waldump's output ending at the end of valid WAL. */
  async endOfWal(node: string, from: string): Promise<string | undefined> {
    if (!this.commands.has('endOfWal')) return undefined;
    const r = await this.commands.run('endOfWal', node, { from }).catch(() => undefined);
    if (!r) return undefined;
    const bare = /^\s*([0-9A-Fa-f]+\/[0-9A-Fa-f]+)\s*$/.exec(r.stdout);
    return bare?.[1] ?? parseEndOfWal(r.stdout);
  }

  async promote(node: string): Promise<void> {
    await this.query(node, 'SELECT pg_promote(false)');
    await waitFor(
      catalogueMessage(DR_MESSAGES, 'step.waitingFor.leaveRecovery', { node }).localized,
      async () => {
        const [row] = await this.query<{ r: boolean }>(node, 'SELECT pg_is_in_recovery() AS r');
        return row?.r === false ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 10 },
    );
  }

  tryWrite(node: string): Promise<{ accepted: boolean; detail: string }> {
    return attemptWrite(this.options(node));
  }

  /**
   * Checkpoint the new primary (pg_rewind reads its timeline from the control file, which names
   * the old one until the first checkpoint after promotion), then run the operator's rejoin
   * command and wait until the node answers again.
   */
  async rejoinAsStandby(node: string, newPrimary: string, mode: ReplicationMode): Promise<string> {
    await this.query(newPrimary, 'CHECKPOINT').catch((err: Error) => {
      throw new StepFailure('step.checkpointBeforeRejoin', { primary: newPrimary, node, why: err.message }, { cause: err });
    });
    this.forget(node);
    const r = await this.commands.run('rejoin', node);
    await waitFor(catalogueMessage(DR_MESSAGES, 'step.waitingFor.answerAfter', { node, command: 'rejoin' }).localized, async () => ((await this.reachable(node, 1_000)) ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
    if (this.config.manageReplication) await this.setReplicationMode(mode);
    const said = r.stdout.split('\n').filter(Boolean).at(-1);
    return `${node} rejoined as a standby of ${newPrimary}${said ? ` (${said})` : ''}${this.config.manageReplication ? `; ${mode} replication` : ''}`;
  }

  /** A restarted server has a new key and its old connections are dead (a killed one keeps its key: acknowledgements before the kill carry it). */
  private forget(node: string): void {
    this.keys.delete(node);
    this.forgetClient(node);
  }

  private forgetClient(node: string): void {
    const c = this.clients.get(node);
    this.clients.delete(node);
    void c?.end().catch(() => undefined);
  }

  /** Connect through the endpoint and ask which server answers. */
  async endpointServer(timeoutMs = 2_000): Promise<string | undefined> {
    const client = this.newClient({ ...this.settledEndpoint.config, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs, application_name: 'jinbao_drill' });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const r = await client.query<{ k: string }>(`SELECT (${SERVER_KEY_SQL}) AS k`);
      return r.rows[0]!.k;
    } catch {
      return undefined;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/**
 * The endpoint moved by the operator's route and drain commands, and checked by connecting
 * through it: which server answers is what the probe will get, whatever the commands claim.
 */
class CommandTraffic implements TrafficSwitch {
  constructor(private readonly pair: RemotePair) {}

  async route(server: string): Promise<void> {
    await this.pair.commands.run('route', server);
  }

  async drain(): Promise<void> {
    await this.pair.commands.run('drain', this.pair.primary);
  }

  async current(): Promise<string | undefined> {
    const key = await this.pair.endpointServer();
    if (key === undefined) return undefined;
    for (const n of this.pair.config.nodes) {
      const known = await this.pair.serverKey(n.name).catch(() => undefined);
      if (known === key) return n.name;
    }
    return `an unknown server (postmaster started at epoch ${key})`;
  }
}

interface Settled {
  readonly config: PgClientOptions;
  readonly tls: string;
}

function describeRun(r: CommandRecord): string {
  const out = r.stdout.split('\n').filter(Boolean).at(-1);
  return `operator command ${r.command}: ${r.argv.join(' ')} → ${r.exitCode === 0 ? 'exit 0' : `exit ${r.exitCode ?? '?'}`} in ${Math.round(r.ms)} ms${r.attempts > 1 ? ` after ${r.attempts} attempts` : ''}${out ? ` (${out.slice(0, 200)})` : ''}`;
}
