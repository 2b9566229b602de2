import type { StateStore } from '../lib/state.js';
import { migrateWan } from './keys.js';
import type { CheckResult } from './lab/index.js';

/** Keep a lab check's result; the exporter and `wan check --last` read the latest. */
export function saveCheck(store: StateStore, result: CheckResult): void {
  migrateWan(store);
  store.write(() => store.db.prepare('INSERT INTO wan_checks (checked_at, result) VALUES (?, ?)').run(result.checkedAt, JSON.stringify(result)));
}

export function lastCheck(store: StateStore): CheckResult | undefined {
  migrateWan(store);
  const row = store.db.prepare('SELECT result FROM wan_checks ORDER BY id DESC LIMIT 1').get() as { result: string } | undefined;
  return row ? (JSON.parse(row.result) as CheckResult) : undefined;
}
