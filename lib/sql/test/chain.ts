import { createHash } from 'node:crypto';
import type { Database, SqlMigration, Transaction } from '../index.js';

/**
 * A small hash-chained, gap-free sequence: the pattern the audit log and the revocation sequence
 * need on a shared store. Each entry takes the next number and the previous entry's hash under
 * the `chain` lock; `op` is the caller's idempotency key (a retried operation finds its entry).
 */
export const CHAIN_MIGRATIONS: readonly SqlMigration[] = [
  { description: 'migration log', up: 'CREATE TABLE migration_log (version integer NOT NULL, pid integer NOT NULL)' },
  {
    description: 'chain (slow on purpose: concurrent starters must wait, not apply it again)',
    up: async (tx: Transaction) => {
      await tx.exec('CREATE TABLE chain (seq integer PRIMARY KEY, op text NOT NULL UNIQUE, prev_hash text NOT NULL, hash text NOT NULL)');
      await new Promise((r) => setTimeout(r, 300));
      await tx.run('INSERT INTO migration_log (version, pid) VALUES ($1, $2)', [2, process.pid]);
    },
  },
];

const GENESIS = '0'.repeat(64);
const hashOf = (seq: number, op: string, prev: string) => createHash('sha256').update(`${seq}|${op}|${prev}`).digest('hex');

/** Append `op` (once: an op already in the chain returns its entry). */
export async function append(db: Database, op: string): Promise<{ seq: number; existed: boolean }> {
  return db.write(
    async (tx) => {
      const [seen] = await tx.query<{ seq: number }>('SELECT seq FROM chain WHERE op = $1', [op]);
      if (seen) return { seq: Number(seen.seq), existed: true };
      const [last] = await tx.query<{ seq: number; hash: string }>('SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1');
      const seq = (last ? Number(last.seq) : 0) + 1;
      const prev = last?.hash ?? GENESIS;
      await tx.run('INSERT INTO chain (seq, op, prev_hash, hash) VALUES ($1, $2, $3, $4)', [seq, op, prev, hashOf(seq, op, prev)]);
      return { seq, existed: false };
    },
    { locks: ['chain'] },
  );
}

/** The first entry that breaks the chain or the numbering, or undefined when it is whole. */
export async function verifyChain(db: Database): Promise<{ entries: number; broken?: string }> {
  const rows = await db.query<{ seq: number; op: string; prev_hash: string; hash: string }>('SELECT seq, op, prev_hash, hash FROM chain ORDER BY seq');
  let prev = GENESIS;
  for (const [i, r] of rows.entries()) {
    const seq = Number(r.seq);
    if (seq !== i + 1) return { entries: rows.length, broken: `entry ${i + 1} has seq ${seq}` };
    if (r.prev_hash !== prev || r.hash !== hashOf(seq, r.op, prev)) return { entries: rows.length, broken: `entry ${seq} does not fit the chain` };
    prev = r.hash;
  }
  return { entries: rows.length };
}
