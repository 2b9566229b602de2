import type { StateStore } from '../lib/state.js';
import type { Ledger } from './ipam.js';

/** Where IPAM keeps its ledger of allocations in the state store (see fabric/ipam.ts). */
const MIGRATIONS = [
  {
    description: 'IPAM ledger',
    up: `CREATE TABLE ipam_ledger (
      key TEXT PRIMARY KEY,
      prefix TEXT NOT NULL,
      allocated_at TEXT NOT NULL
    )`,
  },
];

export function loadLedger(store: StateStore): Map<string, string> {
  store.migrate('ipam', MIGRATIONS);
  const rows = store.db.prepare('SELECT key, prefix FROM ipam_ledger').all() as { key: string; prefix: string }[];
  return new Map(rows.map((r) => [r.key, r.prefix]));
}

/** Record every allocation; entries that changed (a pin moved them) are updated. Returns how many rows changed. */
export function saveLedger(store: StateStore, ledger: Ledger): number {
  store.migrate('ipam', MIGRATIONS);
  const upsert = store.db.prepare(
    `INSERT INTO ipam_ledger (key, prefix, allocated_at) VALUES (?, ?, ?)
     ON CONFLICT(key) DO UPDATE SET prefix = excluded.prefix, allocated_at = excluded.allocated_at
     WHERE ipam_ledger.prefix <> excluded.prefix`,
  );
  const now = new Date().toISOString();
  return store.write(() => {
    let changed = 0;
    for (const [key, prefix] of ledger) changed += upsert.run(key, prefix, now).changes;
    return changed;
  });
}
