/**
 * One writer process for the concurrency tests: open the store, wait at the barrier, migrate,
 * append N entries, and print one line per acknowledged append ("ack OP SEQ") or failure
 * ("fail OP MESSAGE"). Usage: worker.ts TARGET BARRIER_FILE NAME COUNT
 */
import { existsSync } from 'node:fs';
import { CommitOutcomeUnknown, openDatabase } from '../index.js';
import { append, CHAIN_MIGRATIONS } from './chain.js';

const [target, barrier, name, count] = process.argv.slice(2) as [string, string, string, string];
const db = await openDatabase(target, { retryMs: 60_000 });
process.stdout.write('ready\n');
const deadline = Date.now() + 120_000;
while (!existsSync(barrier)) {
  if (Date.now() > deadline) throw new Error('the barrier never opened');
  await new Promise((r) => setTimeout(r, 5));
}
const applied = await db.migrate('chain-test', CHAIN_MIGRATIONS);
process.stdout.write(`migrated ${applied.join(',') || '-'}\n`);
for (let i = 0; i < Number(count); i++) {
  const op = `${name}-${i}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await append(db, op);
      process.stdout.write(`ack ${op} ${r.seq}\n`);
      break;
    } catch (err) {
      // Whether it committed is found out by the op's own key: appending again is idempotent.
      if (err instanceof CommitOutcomeUnknown && attempt < 5) continue;
      process.stdout.write(`fail ${op} ${(err as Error).message.replace(/\s+/g, ' ')}\n`);
      break;
    }
  }
}
await db.close();
