import BetterSqlite3 from 'better-sqlite3';
import { join, resolve } from 'node:path';
import { ExitCode, JinbaoError } from '../errors.js';
import { jinbaoError, LIB } from '../i18n/index.js';
import { migrateStep } from './migrate.js';
import { MIGRATION_MARK, unfinishedMigrationError, SQL_STORE_FORMAT, type Database, type Params, type SqlMigration, type Transaction, type WriteOptions } from './types.js';
import { makeDirs } from '../dirs.js';

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

/** The real setImmediate, kept should a test replace the global with a fake clock's. */
const nextTurn = setImmediate;

/** Writes in one group commit, at most (a bound on how long the first one waits). */
const MAX_GROUP = 64;

interface PendingWrite {
  readonly fn: (tx: Transaction) => Promise<unknown>;
  readonly durable: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
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
  /** Writes acknowledged, and the commits that carried them (group commit: fewer commits). */
  readonly stats = { writes: 0, commits: 0 };
  /** The group of writes still taking members (see write). */
  private gathering: PendingWrite[] | undefined;
  /** Prepared once per text: features run the same few statements thousands of times. */
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private dataVersion: BetterSqlite3.Statement | undefined;
  private version = 0;
  private versionTurn: NodeJS.Immediate | undefined;

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
      makeDirs(abs, 0o700);
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

  changeMark(): string {
    // data_version: other connections' (and processes') commits; stats.commits: this one's own.
    // Prepared once: db.pragma() prepares afresh on every call, and this runs per OCSP request.
    // Read once per event-loop turn: the requests a turn answers arrived together, so seeing another
    // process's commit at the next turn is as if they had come before it. Own commits count at once.
    if (this.versionTurn === undefined) {
      this.dataVersion ??= this.db.prepare('PRAGMA data_version').pluck();
      this.version = this.dataVersion.get() as number;
      this.versionTurn = setImmediate(() => (this.versionTurn = undefined));
      this.versionTurn.unref();
    }
    return `${this.version}:${this.stats.commits}`;
  }

  /** A single statement is a write of its own, so it joins the group commit too. */
  run(sql: string, params?: Params): Promise<number> {
    return this.write((tx) => tx.run(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.serial(() => this.direct.exec(sql));
  }

  /**
   * SQLite has one write lock for the whole file: `locks` need no more than BEGIN IMMEDIATE.
   *
   * Group commit: the writes requested in one turn of the event loop (a busy service's concurrent
   * requests) share one transaction and so one sync of the WAL, each inside its own savepoint. A
   * write that fails is rolled back to its savepoint and rejected alone; the others commit. Every
   * write is acknowledged only after the COMMIT that holds it returned, so nothing acknowledged
   * can be lost, and each still sees the writes before it, in order.
   */
  write<T>(fn: (tx: Transaction) => Promise<T>, opts?: WriteOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w: PendingWrite = { fn, durable: opts?.durable !== false, resolve: resolve as (v: unknown) => void, reject };
      if (this.gathering && this.gathering.length < MAX_GROUP) {
        this.gathering.push(w);
        return;
      }
      const group = [w];
      this.gathering = group;
      void this.serial(async () => {
        // Let the writes of this turn of the event loop join before the group starts.
        await new Promise((r) => nextTurn(r));
        if (this.gathering === group) this.gathering = undefined;
        await this.commitGroup(group);
      });
    });
  }

  /** One transaction (one WAL sync) for `group`; settles every write in it. */
  private async commitGroup(group: PendingWrite[]): Promise<void> {
    // Only a group of non-durable writes may skip the sync (set outside a transaction: SQLite
    // ignores a change of `synchronous` inside one).
    const relaxed = group.every((w) => !w.durable);
    if (relaxed) this.db.pragma('synchronous = NORMAL');
    const done: { w: PendingWrite; value: unknown }[] = [];
    const retry: PendingWrite[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      if (relaxed) this.db.pragma('synchronous = FULL');
      for (const w of group) w.reject(err);
      return;
    }
    try {
      const single = group.length === 1;
      for (let i = 0; i < group.length; i++) {
        const w = group[i]!;
        if (!single) this.db.exec('SAVEPOINT jinbao_write');
        try {
          const value = await w.fn(this.direct);
          if (!single) this.db.exec('RELEASE jinbao_write');
          done.push({ w, value });
        } catch (err) {
          w.reject(err);
          if (single) {
            if (this.db.inTransaction) this.db.exec('ROLLBACK');
          } else if (this.db.inTransaction) {
            this.db.exec('ROLLBACK TO jinbao_write; RELEASE jinbao_write');
          } else {
            // SQLite ended the whole transaction (an I/O or full-disk error): the writes before
            // this one are gone with it; run them and the rest again in a group of their own.
            retry.push(...done.map((d) => d.w), ...group.slice(i + 1));
            done.length = 0;
            break;
          }
        }
      }
      if (this.db.inTransaction) {
        this.db.exec('COMMIT');
        this.stats.commits++;
        this.stats.writes += done.length;
      }
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const d of done) d.w.reject(err);
      done.length = 0;
    } finally {
      if (relaxed) this.db.pragma('synchronous = FULL');
    }
    for (const d of done) d.w.resolve(d.value);
    if (retry.length) await this.commitGroup(retry);
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
