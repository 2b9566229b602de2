/**
 * One drill process for the history tests: open the store, wait at the barrier, try to take the
 * drill lock, and report on stdout: "began RUN", or "refused MESSAGE". A process that began holds
 * the lock until `drill abort` asks it to stop, then records the run aborted and prints "aborted".
 * Usage: history-worker.ts TARGET BARRIER_FILE LOCK SITE
 */
import { existsSync } from 'node:fs';
import { openDatabase } from '../../lib/sql/index.js';
import { DrillHistory, DrillRefusedError, newRunId, type DrillRequest } from '../index.js';

const [target, barrier, lock, site] = process.argv.slice(2) as [string, string, string, string];
const db = await openDatabase(target);
const history = await DrillHistory.open(db);
process.stdout.write('ready\n');
const deadline = Date.now() + 120_000;
while (!existsSync(barrier)) {
  if (Date.now() > deadline) throw new Error('the barrier never opened');
  await new Promise((r) => setTimeout(r, 5));
}
const runId = newRunId(site);
// What begin() records of a request (helpers.ts has the whole one, but it loads vitest).
const request = { site, target: 'pg', scenario: 'switchover', replication: 'sync', objectives: { rtoSeconds: 120, rpoSeconds: 0 } } as DrillRequest;
try {
  await history.begin(lock, runId, request);
} catch (err) {
  if (!(err instanceof DrillRefusedError)) throw err;
  process.stdout.write(`refused ${err.message}\n`);
  await db.close();
  process.exit(0);
}
process.stdout.write(`began ${runId}\n`);
while (!(await history.abortRequested(runId))) {
  if (Date.now() > deadline) throw new Error('no abort was requested');
  await new Promise((r) => setTimeout(r, 20));
}
await history.finish(lock, runId, { result: 'aborted', reason: 'aborted with: jinbao drill abort', report: null });
process.stdout.write('aborted\n');
await db.close();
