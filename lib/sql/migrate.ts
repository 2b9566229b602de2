import { ExitCode, JinbaoError } from '../errors.js';
import { migrationBody, newerComponentMessage, type SqlMigration, type Transaction } from './types.js';

/** Run one migration in `tx` and record `version` for `component` (both backends, and `state migrate`). */
export async function applyMigration(tx: Transaction, component: string, m: SqlMigration, version: number): Promise<void> {
  const body = migrationBody(m, tx.dialect);
  if (typeof body === 'string') await tx.exec(body);
  else await body(tx);
  await tx.run(
    `INSERT INTO schema_versions (component, version, applied_at) VALUES ($1, $2, $3)
     ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at`,
    [component, version, new Date().toISOString()],
  );
}

/**
 * One step of `migrate()`, inside the caller's locked transaction: the version is re-read there
 * (another process may have applied it), a newer store is refused, the next migration applied.
 * Returns the version applied, or undefined when the component is current.
 */
export async function migrateStep(tx: Transaction, where: string, component: string, migrations: readonly SqlMigration[]): Promise<number | undefined> {
  const [row] = await tx.query<{ version: number }>('SELECT version FROM schema_versions WHERE component = $1', [component]);
  const current = row?.version ?? 0;
  if (current > migrations.length) throw new JinbaoError(newerComponentMessage(where, component, current, migrations.length), { exitCode: ExitCode.invalidInput });
  if (current === migrations.length) return undefined;
  await applyMigration(tx, component, migrations[current]!, current + 1);
  return current + 1;
}
