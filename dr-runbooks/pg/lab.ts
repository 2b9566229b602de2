import { chmodSync, chownSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { catalogueMessage, inputError, jinbaoError } from '../../lib/i18n/index.js';
import { DR_MESSAGES } from '../messages.js';
import { reasonParam, StepFailure, waitFor } from '../engine.js';
import type { NodeName, ReplicationMode } from '../model.js';
import { HaproxyEndpoint } from '../proxy.js';
import type { ReplicaTlsSource } from '../tls.js';
import { REPLICATION_USER, renderHba, renderPostgresConf, replicationConninfo, syncStandbyFor, type NodeLayout, type NodeRole, type TlsFiles } from './config.js';
import { alive, PgTools, stopPid, waitGone } from './tools.js';
import { attemptWrite } from '../pair.js';
import { makeDirs } from '../../lib/dirs.js';

/** What a lab remembers between commands (lab.json). */
export interface LabState {
  readonly version: 1;
  readonly site: string;
  readonly replication: ReplicationMode;
  /** The node currently serving as primary. */
  readonly primary: NodeName;
  readonly ports: Readonly<Record<NodeName, number>>;
  readonly proxyPort: number;
  readonly tlsSource: string;
  readonly createdAt: string;
}

export const NODES: readonly NodeName[] = ['dc', 'dr'];
export const peerOf = (n: NodeName): NodeName => (n === 'dc' ? 'dr' : 'dc');

/** The lab folder of a site under the state directory. */
export function labDir(stateDir: string, site: string): string {
  return join(resolve(stateDir), 'dr-lab', site);
}

/**
 * The embedded DR lab: a PostgreSQL 15 primary (the site's data center, "dc") and a streaming
 * standby (its DR center, "dr") on loopback ports, replicating over mutual TLS, behind an HAProxy
 * endpoint. Everything lives in one folder; every process is started and stopped by its pid.
 */
export class PgLab {
  readonly dir: string;
  readonly tools: PgTools;
  private stateValue: LabState;
  readonly proxy: HaproxyEndpoint;
  private readonly killed = new Map<NodeName, number[]>();

  private constructor(dir: string, state: LabState, tools: PgTools) {
    this.dir = dir;
    this.stateValue = state;
    this.tools = tools;
    this.proxy = new HaproxyEndpoint({
      dir: join(dir, 'proxy'),
      port: state.proxyPort,
      servers: NODES.map((n) => ({ name: n, port: state.ports[n] })),
      shell: tools.sh,
    });
  }

  static exists(dir: string): boolean {
    return existsSync(join(dir, 'lab.json'));
  }

  static open(dir: string, tools: PgTools = new PgTools()): PgLab {
    const file = join(dir, 'lab.json');
    if (!existsSync(file)) throw inputError(DR_MESSAGES, 'lab.none', { dir });
    return new PgLab(dir, JSON.parse(readFileSync(file, 'utf8')) as LabState, tools);
  }

  /** Create the lab from scratch and leave it running: primary, streaming standby, endpoint. */
  static async create(opts: { dir: string; site: string; replication: ReplicationMode; tls: ReplicaTlsSource; tools?: PgTools; stateDir?: string }): Promise<PgLab> {
    const tools = opts.tools ?? new PgTools();
    tools.ensureInstalled();
    if (PgLab.exists(opts.dir)) throw inputError(DR_MESSAGES, 'lab.exists', { dir: opts.dir, site: opts.site });
    const owner = tools.runAsPostgres ? postgresIds() : undefined;
    if (owner) ensureTraversable(opts.dir, opts.stateDir);
    const [dcPort, drPort, proxyPort] = await freePorts(3);
    const material = await opts.tls.issue({ site: opts.site, nodes: NODES, clientUser: REPLICATION_USER, days: 30 });
    const state: LabState = {
      version: 1,
      site: opts.site,
      replication: opts.replication,
      primary: 'dc',
      ports: { dc: dcPort!, dr: drPort! },
      proxyPort: proxyPort!,
      tlsSource: material.source,
      createdAt: new Date().toISOString(),
    };
    makeDirs(opts.dir, 0o711);
    chmodSync(opts.dir, 0o711);
    const lab = new PgLab(opts.dir, state, tools);
    lab.save();
    makeDirs(join(opts.dir, 'proxy'), 0o700);
    const tlsDir = join(opts.dir, 'tls');
    makeDirs(tlsDir, 0o700);
    const files = lab.tlsFiles('dc');
    lab.writeOwned(files.caFile, material.caPem, 0o644);
    lab.writeOwned(files.clientCert, material.client.certPem, 0o644);
    lab.writeOwned(files.clientKey, material.client.keyPem, 0o600);
    for (const n of NODES) {
      const f = lab.tlsFiles(n);
      lab.writeOwned(f.serverCert, material.servers[n].certPem, 0o644);
      lab.writeOwned(f.serverKey, material.servers[n].keyPem, 0o600);
      makeDirs(join(opts.dir, n), 0o700);
      makeDirs(lab.node(n).socketDir, 0o700);
    }
    lab.chownTree([tlsDir, join(opts.dir, 'dc'), join(opts.dir, 'dr'), lab.node('dc').socketDir, lab.node('dr').socketDir]);

    try {
      await tools.run('initdb', ['-D', lab.node('dc').dataDir, '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']).timeout('60s');
      lab.writeConfig('dc', { kind: 'primary' });
      lab.writeOwned(join(lab.node('dc').dataDir, 'pg_hba.conf'), renderHba(), 0o600);
      await lab.startNode('dc');
      await lab.query('dc', `CREATE ROLE ${REPLICATION_USER} WITH REPLICATION LOGIN`);
      await lab.baseBackup('dr', 'dc');
      await lab.startNode('dr');
      await lab.waitStreaming('dc', 'dr', 15_000);
      await lab.applyReplicationMode(opts.replication);
      await lab.proxy.start('dc');
    } catch (err) {
      await lab.stop().catch(() => undefined);
      throw jinbaoError(DR_MESSAGES, 'lab.createFailed', { dir: opts.dir, why: reasonParam(err), log: join(opts.dir, 'dc', 'postgres.log'), site: opts.site }, { cause: err, exitCode: 1 });
    }
    return lab;
  }

  get state(): LabState {
    return this.stateValue;
  }
  get primary(): NodeName {
    return this.stateValue.primary;
  }
  get standby(): NodeName {
    return peerOf(this.stateValue.primary);
  }

  setPrimary(node: NodeName): void {
    this.stateValue = { ...this.stateValue, primary: node };
    this.save();
  }

  setReplication(mode: ReplicationMode): void {
    this.stateValue = { ...this.stateValue, replication: mode };
    this.save();
  }

  private save(): void {
    writeFileSync(join(this.dir, 'lab.json'), JSON.stringify(this.stateValue, null, 2) + '\n', { mode: 0o644 });
  }

  node(name: NodeName): NodeLayout {
    return {
      name,
      port: this.stateValue.ports[name],
      dataDir: join(this.dir, name, 'data'),
      socketDir: join(this.dir, name, 'sock'),
      applicationName: `jinbao_${name}`,
    };
  }

  tlsFiles(name: NodeName): TlsFiles {
    const d = join(this.dir, 'tls');
    return {
      caFile: join(d, 'ca.crt'),
      serverCert: join(d, `${name}.crt`),
      serverKey: join(d, `${name}.key`),
      clientCert: join(d, 'client.crt'),
      clientKey: join(d, 'client.key'),
    };
  }

  logFile(name: NodeName): string {
    return join(this.dir, name, 'postgres.log');
  }

  /** The connection the probe and applications use: the HAProxy endpoint. */
  endpoint(): pg.ClientConfig {
    return { host: '127.0.0.1', port: this.stateValue.proxyPort, user: this.tools.superuser, database: 'postgres' };
  }

  writeConfig(name: NodeName, role: NodeRole): void {
    const node = this.node(name);
    this.writeOwned(join(node.dataDir, 'postgresql.conf'), renderPostgresConf(node, role, this.tlsFiles(name)), 0o600);
    this.writeOwned(join(node.dataDir, 'postgresql.auto.conf'), '# managed by jinbao: settings live in postgresql.conf\n', 0o600);
  }

  /** Mark a node so it can only ever start as a standby (read-only): the lab's fence. */
  setStandbySignal(name: NodeName, on: boolean): void {
    const file = join(this.node(name).dataDir, 'standby.signal');
    if (on) this.writeOwned(file, '', 0o600);
    else rmSync(file, { force: true });
  }

  hasStandbySignal(name: NodeName): boolean {
    return existsSync(join(this.node(name).dataDir, 'standby.signal'));
  }

  writeOwned(file: string, content: string, mode: number): void {
    writeFileSync(file, content, { mode });
    chmodSync(file, mode);
    if (this.tools.runAsPostgres) {
      const { uid, gid } = postgresIds();
      chownSync(file, uid, gid);
    }
  }

  private chownTree(paths: readonly string[]): void {
    if (!this.tools.runAsPostgres) return;
    const { uid, gid } = postgresIds();
    for (const p of paths) chownSync(p, uid, gid);
  }

  /** The postmaster's pid from postmaster.pid, when that process is alive. */
  pid(name: NodeName): number | undefined {
    const file = join(this.node(name).dataDir, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isFinite(pid) && alive(pid) ? pid : undefined;
  }

  async startNode(name: NodeName): Promise<number> {
    const running = this.pid(name);
    if (running !== undefined) return running;
    await this.waitKilled(name);
    const node = this.node(name);
    const started = await this.tools.run('pg_ctl', ['start', '-D', node.dataDir, '-l', this.logFile(name), '-w', '-t', '60']).nothrow().timeout('70s');
    if (started.exitCode !== 0) {
      const fatal = lastFatal(this.logFile(name));
      const failed = { node: name, code: String(started.exitCode), log: this.logFile(name) };
      throw fatal ? new StepFailure('step.nodeDidNotStartFatal', { ...failed, fatal }) : new StepFailure('step.nodeDidNotStart', failed);
    }
    const pid = this.pid(name);
    if (pid === undefined) throw new StepFailure('step.nodeNoPid', { node: name, log: this.logFile(name) });
    return pid;
  }

  /** Clean (fast) shutdown by pid: the primary sends all its WAL to connected standbys first. */
  async stopNode(name: NodeName): Promise<boolean> {
    const pid = this.pid(name);
    return pid === undefined ? false : stopPid(pid, 'SIGINT', 60_000);
  }

  /**
   * The unplanned failure: SIGKILL to the postmaster and, in the same instant, to its children,
   * as when the machine dies. Returns the time of the kill once every process is gone.
   */
  async killNode(name: NodeName): Promise<number> {
    const pid = this.pid(name);
    if (pid === undefined) throw new StepFailure('step.nothingToKill', { node: name });
    const children = await this.tools.sh`pgrep -P ${String(pid)}`.nothrow();
    if (children.exitCode !== 0 && children.exitCode !== 1) throw new StepFailure('step.pgrepFailed', { code: String(children.exitCode), stderr: children.stderr.trim() });
    const pids = [pid, ...children.stdout.split('\n').filter(Boolean).map(Number)];
    const at = performance.timeOrigin + performance.now();
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.killed.set(name, pids);
    return at;
  }

  /** Wait until every process of a killed node is gone, so the data folder is free again. */
  async waitKilled(name: NodeName): Promise<void> {
    for (const p of this.killed.get(name) ?? []) await waitGone(p, 15_000);
    this.killed.delete(name);
    await this.clearZombieLock(name);
  }

  /**
   * A killed postmaster stays a zombie until init reaps it, which can take seconds, and PostgreSQL
   * (pg_rewind's single-user recovery, pg_ctl start) takes a postmaster.pid naming a zombie for a
   * running server ("Is another postmaster running?"). Wait a little for the reap, then remove the
   * lock file: its process has exited, whether or not it was reaped yet.
   */
  private async clearZombieLock(name: NodeName): Promise<void> {
    const file = join(this.node(name).dataDir, 'postmaster.pid');
    if (!existsSync(file)) return;
    const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
    if (!Number.isFinite(pid) || alive(pid)) return;
    const deadline = performance.now() + 1_000;
    while (exists(pid) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Reaped or still a zombie, the process that wrote the lock is gone: the lock is stale either way.
    rmSync(file, { force: true });
  }

  async start(): Promise<void> {
    await this.startNode(this.primary);
    await this.startNode(this.standby);
    await this.proxy.start(this.primary);
  }

  /** Stop the endpoint and both nodes, each by its pid. */
  async stop(): Promise<{ stopped: string[] }> {
    const stopped: string[] = [];
    if (await this.proxy.stop()) stopped.push('haproxy');
    for (const n of [this.standby, this.primary]) if (await this.stopNode(n)) stopped.push(n);
    return { stopped };
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private clientConfig(name: NodeName, timeoutMs: number): pg.ClientConfig {
    const n = this.node(name);
    return { host: n.socketDir, port: n.port, user: this.tools.superuser, database: 'postgres', connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs };
  }

  /** Run one statement on a node over its private socket. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(name: NodeName, sql: string, params: unknown[] = [], timeoutMs = 5_000): Promise<R[]> {
    const client = new pg.Client(this.clientConfig(name, timeoutMs));
    client.on('error', () => undefined);
    try {
      await client.connect();
      const r = await client.query<R>(sql, params);
      return r.rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Try a write straight on a node's TCP port, bypassing the endpoint. */
  tryWrite(name: NodeName): Promise<{ accepted: boolean; detail: string }> {
    return attemptWrite({ host: '127.0.0.1', port: this.node(name).port, user: this.tools.superuser, database: 'postgres' });
  }

  /** Copy `from` into a fresh standby `name` over the mTLS replication connection. */
  async baseBackup(name: NodeName, from: NodeName): Promise<void> {
    const node = this.node(name);
    rmSync(node.dataDir, { recursive: true, force: true });
    const conn = replicationConninfo(node, this.node(from), this.tlsFiles(name));
    await this.tools.run('pg_basebackup', ['-D', node.dataDir, '-X', 'stream', '-c', 'fast', '--no-sync', '-d', conn]).timeout('120s');
    this.writeConfig(name, { kind: 'standby', upstream: this.node(from) });
    this.setStandbySignal(name, true);
  }

  /** Rewrite the primary's config for `mode`, reload it, and wait (at most `timeoutMs`) until it runs with it. */
  async applyReplicationMode(mode: ReplicationMode, timeoutMs = 5_000): Promise<void> {
    this.writeConfig(this.primary, { kind: 'primary', ...optionalSync(syncStandbyFor(mode, this.node(this.standby))) });
    await this.query(this.primary, 'SELECT pg_reload_conf()');
    await waitFor(
      catalogueMessage(DR_MESSAGES, 'step.waitingFor.syncStandbyNames', { mode }).localized,
      async () => {
        const [row] = await this.query<{ s: string }>(this.primary, "SELECT current_setting('synchronous_standby_names') AS s");
        return (mode === 'sync') === (row?.s !== '') ? true : undefined;
      },
      { timeoutMs },
    );
    this.setReplication(mode);
  }

  /**
   * The timeline the primary writes and the one the standby's walreceiver last received. A standby
   * rewound from a freshly promoted primary first streams the old timeline up to the switch, then
   * reconnects for the new one: it only streams for good once both are equal.
   */
  async timelines(primary: NodeName, standby: NodeName): Promise<{ primary: number; standby: number | undefined }> {
    const [p] = await this.query<{ tli: string }>(primary, 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli');
    const [s] = await this.query<{ tli: number | null }>(standby, "SELECT received_tli AS tli FROM pg_stat_wal_receiver WHERE status = 'streaming'");
    return { primary: Number.parseInt(p!.tli, 16), standby: s?.tli ?? undefined };
  }

  /** Wait until `standby` streams from `primary` on the primary's current timeline. */
  async waitStreaming(primary: NodeName, standby: NodeName, timeoutMs: number): Promise<void> {
    const app = this.node(standby).applicationName;
    const noWalreceiver = catalogueMessage(DR_MESSAGES, 'step.seen.noWalreceiver').localized;
    let seen = noWalreceiver;
    await waitFor(
      catalogueMessage(DR_MESSAGES, 'step.waitingFor.streamOnTimeline', { node: standby, primary }).localized,
      async () => {
        const rows = await this.query<{ state: string }>(primary, 'SELECT state FROM pg_stat_replication WHERE application_name = $1', [app]);
        if (rows[0]?.state !== 'streaming') {
          seen = rows[0] ? catalogueMessage(DR_MESSAGES, 'step.seen.walsenderState', { state: rows[0].state }).localized : noWalreceiver;
          return undefined;
        }
        const t = await this.timelines(primary, standby);
        seen =
          t.standby === undefined
            ? catalogueMessage(DR_MESSAGES, 'step.seen.standbyNoTimeline', { primary: t.primary }).localized
            : catalogueMessage(DR_MESSAGES, 'step.seen.timelines', { standby: t.standby, primary: t.primary }).localized;
        return t.standby === t.primary ? true : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    ).catch((err: Error) => {
      throw new StepFailure('step.notStreamingSeen', { reason: reasonParam(err), seen, log: this.logFile(standby) }, { cause: err });
    });
  }
}

/** The last FATAL or PANIC line of a server log, without its timestamp prefix. */
export function lastFatal(logFile: string): string | undefined {
  if (!existsSync(logFile)) return undefined;
  const lines = readFileSync(logFile, 'utf8').split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /\b((?:FATAL|PANIC):.*)$/.exec(lines[i]!);
    if (m) return m[1]!.replace(/\s+/g, ' ').trim();
  }
  return undefined;
}

/** Whether any process, a zombie included, holds this pid (what PostgreSQL checks in its lock file). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function optionalSync(name: string | undefined): { syncStandby?: string } {
  return name === undefined ? {} : { syncStandby: name };
}

let cachedIds: { uid: number; gid: number } | undefined;
/** uid and gid of the `postgres` user, from /etc/passwd. */
export function postgresIds(): { uid: number; gid: number } {
  if (cachedIds) return cachedIds;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) {
    throw jinbaoError(DR_MESSAGES, 'lab.noPostgresUser', {}, { exitCode: 4 });
  }
  const f = line.split(':');
  cachedIds = { uid: Number(f[2]), gid: Number(f[3]) };
  return cachedIds;
}

/**
 * The postgres user must traverse every folder above the lab. jinbao opens its own state folder
 * for traversal (o+x, no listing); any other blocking folder is reported with the fix.
 */
export function ensureTraversable(dir: string, stateDir?: string): void {
  const blocked: string[] = [];
  const own = stateDir === undefined ? undefined : resolve(stateDir);
  for (let p = dirname(resolve(dir)); ; p = dirname(p)) {
    if (existsSync(p)) {
      const st = statSync(p);
      if ((st.mode & 0o001) === 0 && st.uid !== postgresIds().uid) {
        if (p === own) chmodSync(p, (st.mode & 0o777) | 0o011);
        else blocked.push(`${p} (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`);
      }
    }
    if (p === dirname(p)) break;
  }
  if (blocked.length > 0) {
    throw inputError(DR_MESSAGES, 'lab.notTraversable', { dir, blocked: blocked.join(', ') }, {
      details: blocked,
    });
  }
}

/** Free loopback TCP ports, found by binding port 0. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((res, rej) => {
      const s = createServer();
      s.once('error', rej);
      s.listen(0, '127.0.0.1', () => res(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
