import type { Database } from '../lib/sql/index.js';
import { migrateWan } from './keys.js';
import type { CheckResult } from './lab/index.js';

/** Keep a lab check's result; the exporter and `wan check --last` read the latest. */
export async function saveCheck(db: Database, result: CheckResult): Promise<void> {
  await migrateWan(db);
  await db.write((tx) => tx.run('INSERT INTO wan_checks (checked_at, result) VALUES ($1, $2)', [result.checkedAt, JSON.stringify(result)]), { locks: ['wan-checks'] });
}

export async function lastCheck(db: Database): Promise<CheckResult | undefined> {
  await migrateWan(db);
  const [row] = await db.query<{ result: string }>('SELECT result FROM wan_checks ORDER BY id DESC LIMIT 1');
  return row ? (JSON.parse(row.result) as CheckResult) : undefined;
}
