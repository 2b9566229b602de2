import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openDatabase, type Database } from '../sql/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from './postgres-server.js';

/**
 * The two state backends for a test file of a component's store: a fresh SQLite directory, or a
 * fresh database on one real PostgreSQL server for the whole file (started before its tests,
 * removed after them). PostgreSQL is skipped only when postgresMissing() says it cannot run here.
 *
 *   const backends = stateBackends('jinbao-keys-');
 *   describe.each(backends)('keys on $name', ({ skip, open }) => { it.skipIf(skip)(...) });
 */
export interface StateBackend {
  readonly name: 'SQLite' | 'PostgreSQL';
  readonly skip: boolean;
  /** A `--state` value naming a new, empty store. */
  fresh(): Promise<string>;
  /** A new, empty store, opened; closed after the file's tests. */
  open(): Promise<Database>;
}

export function stateBackends(prefix: string): readonly StateBackend[] {
  const missing = postgresMissing();
  let server: PostgresServer | undefined;
  let databases = 0;
  const dirs: string[] = [];
  const opened: Database[] = [];
  beforeAll(async () => {
    if (missing === undefined) server = await startPostgres({ prefix: `${prefix}pg-` });
  }, 120_000);
  afterAll(async () => {
    for (const db of opened) await db.close().catch(() => undefined);
    await server?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const backend = (name: StateBackend['name'], skip: boolean, fresh: () => Promise<string>): StateBackend => ({
    name,
    skip,
    fresh,
    async open() {
      const db = await openDatabase(await fresh());
      opened.push(db);
      return db;
    },
  });
  return [
    backend('SQLite', false, async () => {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    }),
    backend('PostgreSQL', missing !== undefined, async () => {
      const name = `state_${++databases}`;
      await server!.sql(`CREATE DATABASE ${name}`);
      return server!.url({ dbname: name, sslmode: 'disable' });
    }),
  ];
}
