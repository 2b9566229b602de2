import pg from 'pg';
import type { ReplicationMode } from './model.js';
import type { TrafficSwitch } from './proxy.js';
import type { CertificateCheck } from './tls.js';

/** What the primary sees of its standby. */
export interface ReplicationStatus {
  /** The standby's walreceiver is connected and streaming. */
  readonly streaming: boolean;
  /** 'sync', 'async', 'potential' or 'quorum' from pg_stat_replication. */
  readonly syncState?: string;
  /** Primary's current WAL position minus what the standby replayed. */
  readonly replayLagBytes?: number;
  /** How old the newest replayed transaction is while WAL is waiting to be replayed (0 when caught up). */
  readonly replayDelaySeconds?: number;
  readonly detail: string;
}

export interface WalPositions {
  readonly receive: string | null;
  readonly replay: string | null;
}

/**
 * A primary/standby pair as a drill drives it. `pg-local` implements it on the embedded lab;
 * other targets implement it over connection strings and operator-supplied commands. Nodes are
 * named by the pair ("dc"/"dr" in the lab).
 */
export interface DrPair {
  readonly target: 'pg-local' | 'pg';
  readonly primary: string;
  readonly standby: string;
  /** The endpoint applications and the probe connect to. */
  readonly endpoint: pg.ClientConfig;
  readonly traffic: TrafficSwitch;
  /**
   * SQL expression naming the server that evaluates it. The probe returns it with every
   * acknowledged write, so an acknowledgement says which node took it, whatever sits between.
   */
  readonly serverKeySql: string;
  /** What `serverKeySql` yields on `node`; learned while the node answers and remembered after. */
  serverKey(node: string): Promise<string>;
  /** Whether the drill may change synchronous_standby_names (the lab may; an existing pair only when its file allows it). */
  readonly managesReplicationMode: boolean;
  replication(): Promise<ReplicationStatus>;
  certificates(now: number): Promise<readonly CertificateCheck[]>;
  replicationMode(): Promise<ReplicationMode>;
  setReplicationMode(mode: ReplicationMode): Promise<void>;
  /** Run one statement on a node (administration path, not the endpoint). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(node: string, sql: string, params?: unknown[]): Promise<R[]>;
  /** Whether the node answers a query. */
  reachable(node: string, timeoutMs: number): Promise<boolean>;
  /** The unplanned failure; returns the time it happened. */
  crash(node: string): Promise<number>;
  /** Clean shutdown (a planned switchover): a primary sends all its WAL to its standbys first. */
  stopClean(node: string): Promise<void>;
  /** Make the node unable to start as a primary again (fence), or lift that. */
  fence(node: string, on: boolean): Promise<void>;
  /** Restart a node in the role it had (rollback before promotion). */
  start(node: string): Promise<void>;
  walPositions(standby: string): Promise<WalPositions>;
  /** The end of a stopped node's WAL, reading forward from `from`; undefined when it cannot be read. */
  endOfWal(node: string, from: string): Promise<string | undefined>;
  promote(node: string): Promise<void>;
  /** Try a write straight on the node, bypassing the endpoint. */
  tryWrite(node: string): Promise<{ accepted: boolean; detail: string }>;
  /** Turn the stopped old primary into a streaming standby of the new one (pg_rewind). */
  rejoinAsStandby(node: string, newPrimary: string, mode: ReplicationMode): Promise<string>;
  /** Record that `node` is now the primary. */
  setPrimary(node: string): void;
  /** Receive notes for the drill's event log (e.g. each operator command run and how it ended). */
  observe?(note: (text: string) => void): void;
}

/** LSN "X/Y" as a byte position. */
export function lsnToBigInt(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(lsn.trim());
  if (!m) throw new Error(`not an LSN: "${lsn}", want the form "0/3000148"`);
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

/** Bytes from `b` up to `a` (negative when `a` is behind `b`). */
export function lsnDiff(a: string, b: string): number {
  return Number(lsnToBigInt(a) - lsnToBigInt(b));
}

/**
 * The split-brain test: connect straight to a server (not the endpoint) and try to commit a
 * write. Refused connections and refused writes both count as "not accepted", with the reason.
 */
export async function attemptWrite(config: pg.ClientConfig): Promise<{ accepted: boolean; detail: string }> {
  const client = new pg.Client({ connectionTimeoutMillis: 2_000, query_timeout: 3_000, application_name: 'jinbao_drill', ...config });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    return { accepted: false, detail: `connection refused: ${(err as Error).message}` };
  }
  try {
    await client.query('CREATE TABLE IF NOT EXISTS jinbao_split_brain_check (at timestamptz)');
    await client.query('INSERT INTO jinbao_split_brain_check VALUES (now())');
    return { accepted: true, detail: 'INSERT committed' };
  } catch (err) {
    return { accepted: false, detail: `write refused: ${(err as Error).message}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}
