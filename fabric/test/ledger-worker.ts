/**
 * One allocating process for the ledger tests: its own inventory (the small one plus province
 * PROVINCE, growing by one prefecture each round), waiting at the barrier, then ROUNDS allocations
 * against the shared store. Prints "round N JSON" with the prefixes it was given for its own sites.
 * Usage: ledger-worker.ts TARGET BARRIER_FILE PROVINCE ROUNDS
 */
import { existsSync } from 'node:fs';
import { openDatabase } from '../../lib/sql/index.js';
import { validateInventory } from '../load.js';
import { allocateAndRecord } from '../operations.js';
import { growingInventory } from './ledger-inventory.js';

const [target, barrier, province, rounds] = process.argv.slice(2) as [string, string, string, string];
const db = await openDatabase(target, { retryMs: 60_000 });
process.stdout.write('ready\n');
const deadline = Date.now() + 120_000;
while (!existsSync(barrier)) {
  if (Date.now() > deadline) throw new Error('the barrier never opened');
  await new Promise((r) => setTimeout(r, 5));
}
for (let round = 1; round <= Number(rounds); round++) {
  const { fabric, problems } = validateInventory(growingInventory(province, round), `worker ${province}`);
  if (!fabric) throw new Error(problems.map((p) => p.message).join('; '));
  const { ledger } = await allocateAndRecord(db, fabric);
  const own = Object.fromEntries([...ledger].filter(([key]) => key.includes(`:${province.slice(0, 2)}`)));
  process.stdout.write(`round ${round} ${JSON.stringify(own)}\n`);
}
await db.close();
