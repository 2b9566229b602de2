import BetterSqlite3 from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExitCode, JinbaoError } from '../errors.js';
import { jinbaoError, LIB } from '../i18n/index.js';
import { migrateStep } from './migrate.js';
import { MIGRATION_MARK, unfinishedMigrationError, SQL_STORE_FORMAT, type Database, type Params, type SqlMigration, type Transaction, type WriteOptions } from './types.js';

/**
 * `$1`-style placeholders as SQLite's anonymous `?`, with the parameters in the order they appear
 * (a number used twice is bound twice). Quoted literals and identifiers are left alone.
 */
export function toSqlite(sql: string, params: Params = []): { sql: string; params: unknown[] } {
  return bind(placeholders(sql), params);
}

/** A statement's text for SQLite and, for each `?` in order, the 0-based index of its `$n` parameter. */
interface Placeholders {
  readonly sql: string;
  readonly order: readonly number[];
}

function placeholders(sql: string): Placeholders {
  const order: number[] = [];
  const text = sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\$(\d+)/g, (m, n: string | undefined) => {
    if (n === undefined) return m;
    order.push(Number(n) - 1);
    return '?';
  });
  return { sql: text, order };
}

function bind(p: Placeholders, params: Params): { sql: string; params: unknown[] } {
  const out = new Array<unknown>(p.order.length);
  for (let k = 0; k < p.order.length; k++) {
    const i = p.order[k]!;
    if (i < 0 || i >= params.length) throw new Error(`placeholder $${i + 1} has no parameter (${params.length} given)`);
    out[k] = bindable(params[i]);
  }
  return { sql: p.sql, params: out };
}

/** SQLite stores booleans as 0/1 and dates as ISO text, as the PostgreSQL columns jinbao uses read back. */
function bindable(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.toISOString();
  return v;
}

/**
 * The embedded backend: one SQLite file (`jinbao.db`, WAL, synchronous FULL) in the state
 * directory, the same file and layout earlier versions of jinbao wrote. better-sqlite3 is synchronous; this wraps it so features see the same
 * async interface as on PostgreSQL. One connection per process: transactions of this process run
 * one after the other (a queue), and BEGIN IMMEDIATE takes the database's write lock up front, so
 * writers in other processes wait (busy_timeout) instead of failing on a lock upgrade.
 */
export class SqliteDatabase implements Database {
  readonly dialect = 'sqlite' as const;
  readonly where: string;
  private readonly db: BetterSqlite3.Database;
  private queue: Promise<unknown> = Promise.resolve();
  /** Prepared once per text: features run the same few statements thousands of times. */
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  private constructor(file: string, db: BetterSqlite3.Database) {
    this.where = `SQLite ${file}`;
    this.db = db;
  }

  /** Open (creating when needed) `jinbao.db` in `dir`. */
  static open(dir: string, opts: { readonly allowUnfinishedMigration?: boolean } = {}): SqliteDatabase {
    const abs = resolve(dir);
    const file = join(abs, 'jinbao.db');
    let db: BetterSqlite3.Database;
    try {
      mkdirSync(abs, { recursive: true, mode: 0o700 });
      db = new BetterSqlite3(file);
    } catch (err) {
      throw jinbaoError(LIB, 'store.cannotOpen', { dir: abs, reason: (err as Error).message }, { exitCode: ExitCode.invalidInput, cause: err });
    }
    try {
      db.pragma('busy_timeout = 10000');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      const format = db.pragma('user_version', { simple: true }) as number;
      if (format > SQL_STORE_FORMAT) {
        throw jinbaoError(LIB, 'store.newerFormat', { where: file, format, known: SQL_STORE_FORMAT }, { exitCode: ExitCode.invalidInput });
      }
      db.exec('CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at TEXT NOT NULL)');
      if (format < SQL_STORE_FORMAT) db.pragma(`user_version = ${SQL_STORE_FORMAT}`);
      if (!opts.allowUnfinishedMigration) {
        const mark = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").get(MIGRATION_MARK) as { name: string } | undefined;
        if (mark) {
          const row = db.prepare(`SELECT source, started_at FROM ${MIGRATION_MARK}`).get() as { source: string; started_at: string } | undefined;
          throw unfinishedMigrationError(`SQLite ${file}`, row?.source, row?.started_at);
        }
      }
    } catch (err) {
      db.close();
      if (err instanceof JinbaoError) throw err;
      throw jinbaoError(LIB, 'store.notSqlite', { file, reason: (err as Error).message }, { exitCode: ExitCode.invalidInput, cause: err });
    }
    return new SqliteDatabase(file, db);
  }

  /** Run `fn` after everything queued before it (one connection, one statement stream). */
  private serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Each text's placeholders, read once: a bulk insert sends the same statement of thousands of
   * parameters again and again, and reading its text each time cost more than running it.
   */
  private readonly converted = new Map<string, Placeholders>();

  private convert(sql: string, params: Params = []): { sql: string; params: unknown[] } {
    let p = this.converted.get(sql);
    if (!p) {
      p = placeholders(sql);
      if (this.converted.size >= 500) this.converted.clear();
      this.converted.set(sql, p);
    }
    return bind(p, params);
  }

  private prepare(sql: string): BetterSqlite3.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      if (this.statements.size >= 500) this.statements.clear();
      this.statements.set(sql, st);
    }
    return st;
  }

  private readonly direct: Transaction = {
    dialect: 'sqlite',
    query: async <R extends object>(sql: string, params?: Params) => {
      const q = this.convert(sql, params);
      return this.prepare(q.sql).all(...q.params) as R[];
    },
    run: async (sql: string, params?: Params) => {
      const q = this.convert(sql, params);
      return this.prepare(q.sql).run(...q.params).changes;
    },
    exec: async (sql: string) => {
      // DDL can invalidate prepared statements: prepare afresh after it.
      this.statements.clear();
      this.db.exec(sql);
    },
  };

  query<R extends object = Record<string, unknown>>(sql: string, params?: Params): Promise<R[]> {
    return this.serial(() => this.direct.query<R>(sql, params));
  }

  run(sql: string, params?: Params): Promise<number> {
    return this.serial(() => this.direct.run(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.serial(() => this.direct.exec(sql));
  }

  /** SQLite has one write lock for the whole file: `locks` need no more than BEGIN IMMEDIATE. */
  write<T>(fn: (tx: Transaction) => Promise<T>, _opts?: WriteOptions): Promise<T> {
    return this.serial(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async migrate(component: string, migrations: readonly SqlMigration[]): Promise<number[]> {
    const applied: number[] = [];
    for (;;) {
      const step = await this.write((tx) => migrateStep(tx, this.where, component, migrations));
      if (step === undefined) return applied;
      applied.push(step);
    }
  }

  async versions(): Promise<Record<string, number>> {
    const rows = await this.query<{ component: string; version: number }>('SELECT component, version FROM schema_versions ORDER BY component');
    return Object.fromEntries(rows.map((r) => [r.component, r.version]));
  }

  async close(): Promise<void> {
    await this.serial(() => {
      if (this.db.open) this.db.close();
    });
  }
}
