import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { JinbaoError, ExitCode } from './errors.js';
import { jinbaoError, LIB } from './i18n/index.js';

/**
 * The embedded state store: one SQLite database (`jinbao.db`) in the state directory.
 *
 * Each feature owns its tables and registers its own ordered migrations under a component name;
 * the store records the version each component reached. Opening a store that a newer jinbao wrote
 * (a higher format or a component version this build does not know) fails clearly instead of
 * guessing.
 */

/** Bumped only when the store's own layout (not a component's tables) changes. */
export const STORE_FORMAT = 1;

export interface Migration {
  readonly description: string;
  readonly up: string | ((db: Database.Database) => void);
}

export type Db = Database.Database;

export class StateStore {
  readonly db: Database.Database;
  readonly dir: string;
  readonly file: string;

  private constructor(dir: string, db: Database.Database) {
    this.dir = dir;
    this.file = join(dir, 'jinbao.db');
    this.db = db;
  }

  /** Open (creating when needed) the store in `dir`. */
  static open(dir: string, opts: { readonly?: boolean } = {}): StateStore {
    const abs = resolve(dir);
    let db: Database.Database;
    try {
      if (!opts.readonly) mkdirSync(abs, { recursive: true, mode: 0o700 });
      db = new Database(join(abs, 'jinbao.db'), { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    } catch (err) {
      throw jinbaoError(LIB, 'state.cannotOpen', { dir: abs, reason: (err as Error).message }, {
        exitCode: ExitCode.invalidInput,
        cause: err,
      });
    }
    try {
      db.pragma('busy_timeout = 10000');
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
      }
      db.pragma('foreign_keys = ON');
      const format = db.pragma('user_version', { simple: true }) as number;
      if (format > STORE_FORMAT) {
        throw jinbaoError(
          LIB, 'state.newerFormat', { dir: abs, format, known: STORE_FORMAT },
          { exitCode: ExitCode.invalidInput },
        );
      }
      if (!opts.readonly) {
        db.exec(`CREATE TABLE IF NOT EXISTS schema_versions (
          component TEXT PRIMARY KEY,
          version INTEGER NOT NULL,
          applied_at TEXT NOT NULL
        )`);
        if (format < STORE_FORMAT) db.pragma(`user_version = ${STORE_FORMAT}`);
      }
    } catch (err) {
      db.close();
      if (err instanceof JinbaoError) throw err;
      throw jinbaoError(LIB, 'state.notSqlite', { file: join(abs, 'jinbao.db'), reason: (err as Error).message }, {
        exitCode: ExitCode.invalidInput,
        cause: err,
      });
    }
    return new StateStore(abs, db);
  }

  /**
   * Apply `component`'s migrations that have not run yet, each in its own transaction.
   * Refuses when the store holds a later version than `migrations` knows.
   */
  migrate(component: string, migrations: readonly Migration[]): void {
    const row = this.db.prepare('SELECT version FROM schema_versions WHERE component = ?').get(component) as { version: number } | undefined;
    const current = row?.version ?? 0;
    if (current > migrations.length) {
      throw jinbaoError(
        LIB, 'state.newerSchema', { component, version: current, known: migrations.length },
        { exitCode: ExitCode.invalidInput },
      );
    }
    for (let v = current; v < migrations.length; v++) {
      const m = migrations[v]!;
      this.db
        .transaction(() => {
          if (typeof m.up === 'string') this.db.exec(m.up);
          else m.up(this.db);
          this.db
            .prepare(
              `INSERT INTO schema_versions (component, version, applied_at) VALUES (?, ?, ?)
               ON CONFLICT(component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at`,
            )
            .run(component, v + 1, new Date().toISOString());
        })
        .immediate();
    }
  }

  /** The schema version each component reached. */
  versions(): Record<string, number> {
    const rows = this.db.prepare('SELECT component, version FROM schema_versions ORDER BY component').all() as { component: string; version: number }[];
    return Object.fromEntries(rows.map((r) => [r.component, r.version]));
  }

  /** Run `fn` in a write transaction that takes the lock up front (no upgrade deadlocks). */
  write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * The state directory: `--state`, else `JINBAO_STATE`, else `.jinbao/` in the working directory.
 * A URL is refused: taken as a path, `postgresql://db/jinbao` would silently become a new SQLite
 * store in a folder named `postgresql:`.
 */
export function resolveStateDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const value = flag ?? env.JINBAO_STATE ?? '.jinbao';
  const from = flag !== undefined ? '--state' : 'JINBAO_STATE';
  // Only the scheme is repeated: the rest may hold a password.
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)?.[1];
  if (scheme !== undefined && /^postgres(ql)?$/i.test(scheme)) {
    throw jinbaoError(
      LIB, 'state.postgresUrl', { from, scheme },
      { exitCode: ExitCode.invalidInput },
    );
  }
  if (scheme !== undefined) {
    throw jinbaoError(LIB, 'state.url', { from, scheme }, { exitCode: ExitCode.invalidInput });
  }
  return resolve(value);
}
