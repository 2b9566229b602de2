import type { Database, Queryable, SqlMigration } from '../lib/sql/index.js';
import type { Ledger } from './ipam.js';

/** Where IPAM keeps its ledger of allocations in the state store (see fabric/ipam.ts). */
export const IPAM_MIGRATIONS: readonly SqlMigration[] = [
  {
    description: 'IPAM ledger',
    up: `CREATE TABLE ipam_ledger (
      key TEXT PRIMARY KEY,
      prefix TEXT NOT NULL,
      allocated_at TEXT NOT NULL
    )`,
  },
];

/**
 * The lock every ledger writer holds from reading the ledger to writing its new allocations: a
 * second allocator (another process, another host on the shared store) reads the first one's
 * allocations and places around them, so no two allocations ever overlap.
 */
export const IPAM_LOCK = 'ipam';

/** Rows per INSERT: well under both backends' limits on bound parameters. */
const BATCH = 300;

export async function loadLedger(db: Database): Promise<Map<string, string>> {
  await db.migrate('ipam', IPAM_MIGRATIONS);
  return readLedger(db);
}

/** The ledger as `q` sees it (inside a transaction: as of the lock). */
export async function readLedger(q: Queryable): Promise<Map<string, string>> {
  const rows = await q.query<{ key: string; prefix: string }>('SELECT key, prefix FROM ipam_ledger');
  return new Map(rows.map((r) => [r.key, r.prefix]));
}

/**
 * Record the entries of `ledger` that `stored` lacks or holds with another prefix (a pin moved
 * them). Returns how many rows changed.
 */
export async function writeLedger(tx: Queryable, ledger: Ledger, stored: Ledger): Promise<number> {
  const changed = [...ledger].filter(([key, prefix]) => stored.get(key) !== prefix);
  const now = new Date().toISOString();
  let rows = 0;
  for (let i = 0; i < changed.length; i += BATCH) {
    const batch = changed.slice(i, i + BATCH);
    rows += await tx.run(
      `INSERT INTO ipam_ledger (key, prefix, allocated_at) VALUES ${batch.map((_, j) => `($${3 * j + 1}, $${3 * j + 2}, $${3 * j + 3})`).join(', ')}
       ON CONFLICT (key) DO UPDATE SET prefix = excluded.prefix, allocated_at = excluded.allocated_at
       WHERE ipam_ledger.prefix <> excluded.prefix`,
      batch.flatMap(([key, prefix]) => [key, prefix, now]),
    );
  }
  return rows;
}
