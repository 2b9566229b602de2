import pg from 'pg';
import { preciseNow } from './engine.js';
import type { ProbeCounts } from './model.js';

export const PROBE_TABLE = 'jinbao_dr_probe';

export interface ProbeAck {
  readonly seq: number;
  /** Time the commit was acknowledged to the probe. */
  readonly at: number;
  /** The acknowledging server's key (the pair's `serverKeySql`), naming the node behind the endpoint. */
  readonly server: string;
}

export interface ProbeOptions {
  readonly endpoint: pg.ClientConfig;
  /** SQL naming the server that took the write. @default inet_server_port()::text */
  readonly serverKeySql?: string;
  readonly runId: string;
  /** Writes per second. */
  readonly rate: number;
  /** Upper bound on writes, so a forgotten probe cannot run forever. */
  readonly maxWrites: number;
  /** Upper bound on run time. */
  readonly maxMs: number;
  readonly now?: () => number;
}

export function probeTableSql(): string {
  return `CREATE TABLE IF NOT EXISTS ${PROBE_TABLE} (run text NOT NULL, seq integer NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (run, seq))`;
}

/**
 * The write probe: committed inserts with sequence numbers at a set rate through the stable
 * endpoint. Every acknowledged sequence number is remembered with the time and the server that
 * acknowledged it. A failed write is not retried under the same number: only acknowledged rows
 * count for RPO. Bounded by `maxWrites` and `maxMs`.
 */
export class WriteProbe {
  readonly acks: ProbeAck[] = [];
  private attempted = 0;
  private failed = 0;
  private stopping = false;
  private loop?: Promise<void>;
  private client?: pg.Client;
  private readonly opts: ProbeOptions;
  private readonly now: () => number;
  private lastError?: string;

  private readonly serverKeySql: string;

  constructor(opts: ProbeOptions) {
    this.opts = opts;
    this.serverKeySql = opts.serverKeySql ?? 'inet_server_port()::text';
    this.now = opts.now ?? preciseNow;
  }

  start(): void {
    if (this.loop) throw new Error('probe already started');
    this.loop = this.run();
  }

  /** Stop writing and wait for the write in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  get running(): boolean {
    return this.loop !== undefined && !this.stopping;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  counts(oldServer: string, newServer: string): ProbeCounts {
    return {
      attempted: this.attempted,
      acknowledged: this.acks.length,
      failed: this.failed,
      acknowledgedByOldPrimary: this.acks.filter((a) => a.server === oldServer).length,
      acknowledgedByNewPrimary: this.acks.filter((a) => a.server === newServer).length,
    };
  }

  /** First acknowledgement by `server` at or after `since`. */
  firstAckOn(server: string, since: number): ProbeAck | undefined {
    return this.acks.find((a) => a.server === server && a.at >= since);
  }

  /** Resolves once an acknowledgement by `server` at or after `since` exists, or after `timeoutMs`. */
  async waitForAck(server: string, since: number, timeoutMs: number): Promise<ProbeAck | undefined> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const a = this.firstAckOn(server, since);
      if (a || performance.now() > deadline || !this.running) return a;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ ...this.opts.endpoint, connectionTimeoutMillis: 500, query_timeout: 5_000, application_name: 'jinbao_probe' });
    client.on('error', () => {
      if (this.client === client) this.client = undefined;
    });
    await client.connect();
    this.client = client;
    return client;
  }

  private async run(): Promise<void> {
    const interval = 1000 / this.opts.rate;
    const started = performance.now();
    let next = started;
    let seq = 0;
    while (!this.stopping && seq < this.opts.maxWrites && performance.now() - started < this.opts.maxMs) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (this.stopping) break;
      next += interval;
      seq += 1;
      this.attempted += 1;
      try {
        const client = await this.connect();
        const r = await client.query<{ server: string | null }>(`INSERT INTO ${PROBE_TABLE} (run, seq) VALUES ($1, $2) RETURNING (${this.serverKeySql})::text AS server`, [this.opts.runId, seq]);
        this.acks.push({ seq, at: this.now(), server: String(r.rows[0]!.server) });
      } catch (err) {
        this.failed += 1;
        this.lastError = (err as Error).message;
        const broken = this.client;
        this.client = undefined;
        await broken?.end().catch(() => undefined);
        // Falling behind during an outage is expected: resume the schedule from now instead of bursting.
        next = Math.max(next, performance.now() + Math.min(interval, 20));
      }
    }
  }
}
