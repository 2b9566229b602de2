/**
 * The state store's second-generation interface: one async API, two backends.
 *
 * Why a small port over the two drivers and not Kysely: jinbao's migrations are plain SQL per
 * component (and a few functions), which Kysely's query builder would not make safer; its SQLite
 * dialect declares no transactional DDL (its migrator does not wrap SQLite migrations in a
 * transaction, so a failing migration can leave half a schema) and ignores isolation levels; and
 * the locking that makes concurrent writers correct (BEGIN IMMEDIATE on SQLite, advisory locks on
 * PostgreSQL) and the retry rule around COMMIT would be ours to write either way. Both drivers are
 * already dependencies; the port is a few hundred lines that the same behaviour suite runs against
 * SQLite and a real PostgreSQL (lib/sql/test/).
 *
 * What holds on both backends:
 * - SQL is written once with `$1` placeholders; dialect-specific DDL goes in `{ sqlite, postgresql }`.
 * - `write(fn, { locks })` is a transaction serialized on named locks across every process
 *   (SQLite: the file's write lock, BEGIN IMMEDIATE; PostgreSQL: pg_advisory_xact_lock per name).
 *   Inside it, "read the last number, insert the next" is unique and gap-free.
 * - `migrate(component, migrations)` applies each missing version once, in a transaction with its
 *   version record, whatever number of processes start together; a newer store is refused.
 *
 * Every component (audit log, PKI, CRL ledger, IPAM ledger, WAN keys, drill history, ACME) runs on it;
 * `--state` chooses the backend (lib/state.ts resolveState).
 */
import { ExitCode, JinbaoError } from '../errors.js';
import { jinbaoError, LIB } from '../i18n/index.js';
import { PostgresDatabase, type PostgresOptions } from './postgres.js';
import { SqliteDatabase } from './sqlite.js';
import type { Database } from './types.js';

export { CommitOutcomeUnknown, SQL_STORE_FORMAT, type Database, type Dialect, type Params, type Queryable, type SqlMigration, type Transaction, type WriteOptions } from './types.js';
export { PostgresDatabase, advisoryKey, type PostgresOptions } from './postgres.js';
export { SqliteDatabase, toSqlite } from './sqlite.js';

/** Whether a `--state` value names a PostgreSQL database rather than a directory. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target.trim());
}

/** Open the store a `--state` value names: a postgresql:// URL, or the directory of the SQLite file. */
export async function openDatabase(target: string, opts: PostgresOptions = {}): Promise<Database> {
  if (isPostgresUrl(target)) return PostgresDatabase.open(target, opts);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(target)) throw jinbaoError(LIB, 'store.notDirOrPostgres', { from: opts.source ?? '--state', scheme: target.split(':')[0]! }, { exitCode: ExitCode.invalidInput });
  return SqliteDatabase.open(target, { allowUnfinishedMigration: opts.allowUnfinishedMigration ?? false });
}
