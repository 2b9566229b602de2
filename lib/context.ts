import type { Database } from './sql/index.js';

/**
 * What an operation needs of the state: the state directory and its store, opened on first use.
 * The CLI's context implements it; so can a long-running service or a test.
 */
export interface StateAccess {
  readonly stateDir: string;
  /** Whether a state store exists, without creating one (read operations on a fresh machine). */
  hasStore(): boolean;
  /**
   * The state store (lib/sql: the SQLite file in `stateDir`, or the shared PostgreSQL database),
   * opened on first use and migrated by each component as it opens its tables.
   */
  database(): Promise<Database>;
}

/** Progress lines of a long operation; the caller decides where they go (a terminal, a log, nowhere). */
export type Progress = (line: string) => void;

/** A progress sink that drops every line. */
export const silent: Progress = () => undefined;
