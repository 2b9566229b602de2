import { createHash } from 'node:crypto';
import pg from 'pg';
import { ExitCode, JinbaoError } from '../errors.js';
import { jinbaoError, LIB } from '../i18n/index.js';
import { connectErrorMessage, settleTls } from '../pg-client.js';
import { pgConnection, type PgConnection } from '../pg-conn.js';
import { migrateStep } from './migrate.js';
import { CommitOutcomeUnknown, MIGRATION_MARK, unfinishedMigrationError, SQL_STORE_FORMAT, type Database, type Params, type SqlMigration, type Transaction, type WriteOptions } from './types.js';

export interface PostgresOptions {
  /** Where the URL came from, for messages. @default '--state' */
  readonly source?: string;
  /** Connections this process keeps open. @default 4 */
  readonly poolSize?: number;
  /** How long a write keeps retrying a transaction the server aborted (a restart, a failover). @default 30000 */
  readonly retryMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Open the target of an interrupted `state migrate` (only that command does). @default false */
  readonly allowUnfinishedMigration?: boolean;
}

/** A transaction-scoped advisory lock key: 64 bits of SHA-256 over the lock's name. */
export function advisoryKey(name: string): string {
  return createHash('sha256').update(`jinbao:${name}`).digest().readBigInt64BE(0).toString();
}

/**
 * bigint columns (and count(*)) read back as numbers, as SQLite's integers do, so features see the
 * same values on both backends; a value beyond 2^53 is an error rather than a silently rounded number.
 */
const INT8_OID = 20;
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`bigint value ${text} does not fit a JavaScript number`);
  return n;
}
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

/** SQLSTATEs after which the transaction is known to be rolled back and may run again. */
const RETRY_CODES = new Set(['40001', '40P01', '57P01', '57P02', '57P03']);

/** Errors that came from the driver (not from a caller's code inside a transaction). */
const fromDriver = new WeakSet<object>();
async function driver<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (typeof err === 'object' && err !== null) fromDriver.add(err);
    throw err;
  }
}

/** The connection broke (no answer from the server), or the server is shutting down or starting. */
function connectionLost(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || !fromDriver.has(err)) return false;
  if (!(err instanceof pg.DatabaseError)) return true;
  return err.code?.startsWith('08') === true || err.code === '57P01' || err.code === '57P02' || err.code === '57P03';
}

function retryable(err: unknown): boolean {
  return connectionLost(err) || (err instanceof pg.DatabaseError && RETRY_CODES.has(err.code ?? ''));
}

/**
 * The shared backend: a PostgreSQL database reached by a libpq connection string (lib/pg-conn.ts:
 * sslmode as libpq means it, no password in the string). Writers serialize on transaction-scoped
 * advisory locks (`pg_advisory_xact_lock`), taken first in READ COMMITTED: a holder's reads see
 * every transaction that held the lock before it, which is what gap-free sequences (the audit
 * chain, the revocation sequence, serials) need, without SERIALIZABLE's aborts under contention.
 * A transaction the server aborted before COMMIT was sent is retried on a fresh connection until
 * `retryMs` has passed (a restart takes about a second).
 */
export class PostgresDatabase implements Database {
  readonly dialect = 'postgresql' as const;
  readonly where: string;
  private readonly pool: pg.Pool;
  private readonly retryMs: number;

  private constructor(where: string, pool: pg.Pool, retryMs: number) {
    this.where = where;
    this.pool = pool;
    this.retryMs = retryMs;
  }

  static async open(url: string, opts: PostgresOptions = {}): Promise<PostgresDatabase> {
    const source = opts.source ?? '--state';
    const conn = pgConnection(url, { source, ...(opts.env ? { env: opts.env } : {}) });
    const { config, tls } = await settleTls(conn).catch((err: unknown) => {
      throw unreachable(conn, err);
    });
    const pool = new pg.Pool({ ...config, connectionTimeoutMillis: config.connectionTimeoutMillis ?? 5_000, max: opts.poolSize ?? 4, types, application_name: config.application_name ?? 'jinbao' });
    // An idle connection the server closed (a restart) must not end the process; the next use reconnects.
    pool.on('error', () => undefined);
    const where = `PostgreSQL ${conn.host}:${conn.port}/${config.database ?? config.user ?? ''} (${tls})`;
    const db = new PostgresDatabase(where, pool, opts.retryMs ?? 30_000);
    try {
      await db.claim(conn, opts.allowUnfinishedMigration ?? false);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return db;
  }

  /** Make an empty database jinbao's, or check that it is jinbao's and not from a newer jinbao. */
  private async claim(conn: PgConnection, allowUnfinishedMigration: boolean): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unreachable(conn, err);
    }
    client.release();
    await this.write(
      async (tx) => {
        const [mark] = await tx.query<{ ours: boolean }>("SELECT to_regclass('jinbao_store') IS NOT NULL AS ours");
        if (!mark!.ours) {
          const [n] = await tx.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm')");
          if (Number(n!.n) > 0) {
            throw new JinbaoError(
              `${this.where} holds ${n!.n} tables but is not a jinbao state store (it has no jinbao_store table); give jinbao an empty database of its own (CREATE DATABASE jinbao OWNER jinbao_state)`,
              { exitCode: ExitCode.invalidInput },
            );
          }
          await tx.exec('CREATE TABLE jinbao_store (format integer NOT NULL, created_at text NOT NULL)');
          await tx.run('INSERT INTO jinbao_store (format, created_at) VALUES ($1, $2)', [SQL_STORE_FORMAT, new Date().toISOString()]);
          await tx.exec('CREATE TABLE schema_versions (component text PRIMARY KEY, version integer NOT NULL, applied_at text NOT NULL)');
          return;
        }
        if (!allowUnfinishedMigration) {
          const [m] = await tx.query<{ marked: boolean }>(`SELECT to_regclass('${MIGRATION_MARK}') IS NOT NULL AS marked`);
          if (m!.marked) {
            const [r] = await tx.query<{ source: string; started_at: string }>(`SELECT source, started_at FROM ${MIGRATION_MARK}`);
            throw unfinishedMigrationError(this.where, r?.source, r?.started_at);
          }
        }
        const [row] = await tx.query<{ format: number }>('SELECT format FROM jinbao_store');
        if ((row?.format ?? 0) > SQL_STORE_FORMAT) {
          throw jinbaoError(LIB, 'store.newerFormat', { where: this.where, format: row!.format, known: SQL_STORE_FORMAT }, { exitCode: ExitCode.invalidInput });
        }
      },
      { locks: ['store'] },
    );
  }

  private static tx(client: pg.ClientBase): Transaction {
    return {
      dialect: 'postgresql',
      query: async <R extends object>(sql: string, params?: Params) => (await driver(client.query<R & pg.QueryResultRow>(sql, params as unknown[] | undefined))).rows,
      run: async (sql: string, params?: Params) => (await driver(client.query(sql, params as unknown[] | undefined))).rowCount ?? 0,
      exec: async (sql: string) => {
        await driver(client.query(sql));
      },
    };
  }

  /** Reads are retried over a lost connection; they change nothing. */
  async query<R extends object = Record<string, unknown>>(sql: string, params?: Params): Promise<R[]> {
    return this.retrying(async () => (await driver(this.pool.query<R & pg.QueryResultRow>(sql, params as unknown[] | undefined))).rows);
  }

  async run(sql: string, params?: Params): Promise<number> {
    return (await this.pool.query(sql, params as unknown[] | undefined)).rowCount ?? 0;
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = performance.now() + this.retryMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!retryable(err) || performance.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * 2 ** attempt)));
      }
    }
  }

  async write<T>(fn: (tx: Transaction) => Promise<T>, opts: WriteOptions = {}): Promise<T> {
    const locks = [...new Set(opts.locks ?? ['state'])].sort();
    return this.retrying(async () => {
      const client = await driver(this.pool.connect());
      // A checked-out client whose connection drops emits 'error'; the failing query reports it.
      const ignore = () => undefined;
      client.on('error', ignore);
      let committing = false;
      try {
        await driver(client.query('BEGIN'));
        if (opts.durable === false) await driver(client.query('SET LOCAL synchronous_commit = off'));
        // Always in the same order, so two writers never wait on each other's second lock.
        for (const name of locks) await driver(client.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryKey(name)]));
        const result = await fn(PostgresDatabase.tx(client));
        committing = true;
        await driver(client.query('COMMIT'));
        client.off('error', ignore);
        client.release();
        return result;
      } catch (err) {
        client.off('error', ignore);
        if (connectionLost(err)) {
          client.release(err as Error);
          if (committing) throw new CommitOutcomeUnknown(this.where, err);
        } else {
          await client.query('ROLLBACK').then(
            () => client.release(),
            (e: Error) => client.release(e),
          );
        }
        throw err;
      }
    });
  }

  async migrate(component: string, migrations: readonly SqlMigration[]): Promise<number[]> {
    const applied: number[] = [];
    for (;;) {
      const step = await this.write((tx) => migrateStep(tx, this.where, component, migrations), { locks: ['migrate'] });
      if (step === undefined) return applied;
      applied.push(step);
    }
  }

  async versions(): Promise<Record<string, number>> {
    const rows = await this.query<{ component: string; version: number }>('SELECT component, version FROM schema_versions ORDER BY component');
    return Object.fromEntries(rows.map((r) => [r.component, r.version]));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** A database jinbao cannot reach or log in to, said with the fix (exit 2). */
function unreachable(conn: PgConnection, err: unknown): JinbaoError {
  if (err instanceof JinbaoError) return err;
  const code = (err as { code?: string }).code;
  if (code === '3D000') return jinbaoError(LIB, 'store.noDatabase', { source: conn.source, why: (err as Error).message, host: conn.host, port: conn.port }, { exitCode: ExitCode.invalidInput, cause: err });
  return jinbaoError(LIB, 'store.unreachable', { why: connectErrorMessage(err, conn, conn.source) }, { exitCode: ExitCode.invalidInput, cause: err });
}
