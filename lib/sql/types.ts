/**
 * The state store's one interface over two backends (SQLite embedded, PostgreSQL shared). Features
 * write SQL once, with PostgreSQL's numbered placeholders (`$1`, `$2`, …, also for SQLite), and
 * see neither the driver nor which backend runs.
 */
import { ExitCode, type JinbaoError } from '../errors.js';
import { catalogueMessage, jinbaoError, LIB } from '../i18n/index.js';

export type Dialect = 'sqlite' | 'postgresql';
export type Params = readonly unknown[];

/** What both backends can do inside and outside a transaction. */
export interface Queryable {
  readonly dialect: Dialect;
  /** Rows of a statement (SELECT, or anything with RETURNING). */
  query<R extends object = Record<string, unknown>>(sql: string, params?: Params): Promise<R[]>;
  /** A statement's affected row count. */
  run(sql: string, params?: Params): Promise<number>;
  /** Several statements without parameters (DDL in migrations). */
  exec(sql: string): Promise<void>;
}

export type Transaction = Queryable;

export interface WriteOptions {
  /**
   * What the transaction serializes on. Writers of one name run one at a time across every process
   * (SQLite: the database's write lock, taken at BEGIN IMMEDIATE, is one lock for all names;
   * PostgreSQL: a transaction-scoped advisory lock per name, taken first). Reads inside see
   * every transaction that held the name before: "read the last sequence number, write the next"
   * is then gap-free and never repeats. @default ['state'] (one lock for the whole store)
   */
  readonly locks?: readonly string[];
  /**
   * `false` for data whose loss in a power failure costs nobody an acknowledged result (ACME
   * nonces: a lost one is answered with badNonce and the client retries, RFC 8555 6.5). The commit
   * then does not wait for the disk: SQLite commits it with `synchronous = NORMAL` (it survives a
   * crash of the process, and the next durable commit carries it to disk), PostgreSQL with
   * `synchronous_commit = off` (the WAL writer flushes it within a few hundred milliseconds).
   * @default true
   */
  readonly durable?: boolean;
}

/** A migration: SQL for both dialects, one per dialect, or code over the transaction. */
export interface SqlMigration {
  readonly description: string;
  readonly up: string | { readonly sqlite: string; readonly postgresql: string } | ((tx: Transaction) => Promise<void>);
}

export interface Database extends Queryable {
  /** "SQLite /var/lib/jinbao/jinbao.db" or "PostgreSQL db.example:5432/jinbao (TLS, server verified against …)". */
  readonly where: string;
  /**
   * Run `fn` in a write transaction holding `locks`; committed when `fn` resolves, rolled back when
   * it throws. A transaction the backend aborted before COMMIT was sent (a lost connection, a
   * serialization failure, a deadlock) is retried with a fresh connection, a bounded number of
   * times: `fn` must therefore only touch the database. A failure while COMMIT was in flight is
   * thrown as CommitOutcomeUnknown: the caller finds out with its own idempotency key. Inside
   * `fn`, use `tx`, never the database itself (on SQLite that would wait for this transaction).
   */
  write<T>(fn: (tx: Transaction) => Promise<T>, opts?: WriteOptions): Promise<T>;
  /**
   * Apply `component`'s migrations that have not run yet, each in its own transaction with the
   * version record, once however many processes start at the same time. Refuses a database a
   * newer jinbao wrote (a component version beyond `migrations`). Returns the versions applied here.
   */
  migrate(component: string, migrations: readonly SqlMigration[]): Promise<number[]>;
  /** The schema version each component reached. */
  versions(): Promise<Record<string, number>>;
  /**
   * A value that changes whenever anything commits to the store, read without a query: a cache
   * in front of the store stays valid while it is unchanged. Only where the backend can tell
   * cheaply (SQLite: `PRAGMA data_version` moves on other connections' commits, and this
   * connection counts its own); absent on PostgreSQL, where callers read what they cache.
   */
  changeMark?(): string;
  close(): Promise<void>;
}

/** The transaction may or may not have committed: the connection was lost while COMMIT was in flight. */
export class CommitOutcomeUnknown extends Error {
  constructor(where: string, cause: unknown) {
    super(`the connection to ${where} was lost while committing: the transaction may or may not have committed (${(cause as Error).message}); check for its effect before repeating it`, { cause });
    this.name = 'CommitOutcomeUnknown';
  }
}

/** Bumped only when the store's own layout (not a component's tables) changes; the same as lib/state.ts. */
export const SQL_STORE_FORMAT = 1;

/** SQL of a migration for a dialect, or the function to run. */
export function migrationBody(m: SqlMigration, dialect: Dialect): string | ((tx: Transaction) => Promise<void>) {
  return typeof m.up === 'string' || typeof m.up === 'function' ? m.up : m.up[dialect];
}

/** The refusal of a store whose component is ahead of this build. */
export function newerComponentMessage(where: string, component: string, version: number, known: number): string {
  return `the state store ${where} has the "${component}" schema at version ${version}, newer than this jinbao knows (${known}); upgrade jinbao or use another state store`;
}

/**
 * The table `jinbao state migrate` creates in its target before copying and drops in the copy's
 * COMMIT: a store holding it is the target of an interrupted migration and is refused.
 */
export const MIGRATION_MARK = 'jinbao_unfinished_migration';

/** The refusal to use a store that an unfinished `jinbao state migrate` was filling (`where` names the store). */
export function unfinishedMigrationError(where: string, from: string | undefined, startedAt: string | undefined): JinbaoError {
  const source = from === undefined ? catalogueMessage(LIB, 'store.anotherStore').localized : from;
  return jinbaoError(LIB, 'store.unfinishedMigration', { where, from: source, startedAt: startedAt ?? '?' }, { exitCode: ExitCode.invalidInput });
}
