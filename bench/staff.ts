/**
 * Roster import + difference of a 100,000-row site roster (the monthly case: the previous month's
 * roster already recorded, about 1% joiners, 1% leavers and 1% changed), into the embedded SQLite
 * store: decode, validate every row (GB 11643 check character included), hash the identifiers,
 * compare with the recorded roster, replace it in one transaction. Also the first import of the
 * same file into an empty store. Target: ≤ 10 s for import + diff of 100k rows.
 *
 * Baseline: reading and splitting the same file into CSV records only (decode + csvRecords),
 * the floor any import has to pay.
 *
 *   npx tsx bench/staff.ts [--runs N] [--smoke]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFabric } from '../fabric/index.js';
import { openDatabase, type Database } from '../lib/sql/index.js';
import { csvRecords, decodeRoster, importRoster, rosterTemplate } from '../staff/index.js';
import { benchArgs, compare, describe, report, sampleMs, stats, summarize } from './lib.js';

const { runs, smoke } = benchArgs({ runs: 3, smokeRuns: 1 });
const ROWS = smoke ? 1_000 : 100_000;
const SITE = '440100';
const dir = mkdtempSync(join(tmpdir(), 'jinbao-bench-staff-'));

function identityCode(n: number): string {
  const body = `440106${String(19600101 + (n % 28) + 100 * (n % 12)).slice(0, 8)}${String(n % 1000).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = weights.reduce((s, w, i) => s + w * Number(body[i]), 0);
  return body + '10X98765432'[sum % 11]!;
}

/** Month `m` of a roster: person i for i in [m*shift, m*shift + ROWS), every 100th renamed in month 1. */
function roster(month: number): string {
  const shift = Math.floor(ROWS / 100);
  const lines = [rosterTemplate(false).trim()];
  for (let i = month * shift; i < month * shift + ROWS; i++) {
    const renamed = month === 1 && i % 100 === 7 ? '改' : '';
    lines.push(`S${String(i).padStart(7, '0')},员工${i}${renamed},${identityCode(i)},${String(i).padStart(10, '0')},部门${i % 40},s${i}@hrss.gd.gov.cn,active`);
  }
  return `${lines.join('\n')}\n`;
}

const files = [0, 1].map((m) => {
  const f = join(dir, `month-${m}.csv`);
  writeFileSync(f, roster(m));
  return f;
});
const fabric = loadFabric();

async function withStore<T>(name: string, fn: (state: { stateDir: string; hasStore: () => boolean; database: () => Promise<Database> }) => Promise<T>): Promise<T> {
  const stateDir = join(dir, name);
  const db = await openDatabase(stateDir);
  try {
    return await fn({ stateDir, hasStore: () => true, database: async () => db });
  } finally {
    await db.close();
  }
}

try {
  console.log(`setup: two months of a ${ROWS.toLocaleString('en')}-row roster of site ${SITE} in ${dir} (not timed)`);
  let diff: { joiners: number; leavers: number; changed: number } | undefined;
  const firstMs: number[] = [];
  const monthlyMs: number[] = [];
  for (let r = 0; r < runs; r++) {
    await withStore(`state-${r}`, async (state) => {
      let t0 = performance.now();
      await importRoster(state, fabric, { file: files[0]!, site: SITE });
      firstMs.push(performance.now() - t0);
      t0 = performance.now();
      const res = await importRoster(state, fabric, { file: files[1]!, site: SITE });
      monthlyMs.push(performance.now() - t0);
      const d = res.sites[0]!;
      diff = { joiners: d.joiners.length, leavers: d.leavers.length, changed: d.changed.length };
    });
  }
  const floorMs = await sampleMs(runs, () => {
    const decoded = decodeRoster(readFileSync(files[1]!), files[1]!);
    if (!('text' in decoded)) throw new Error('bench roster is not UTF-8');
    return csvRecords(decoded.text).length;
  });
  const monthly = stats(monthlyMs);
  console.log(`first import of ${ROWS.toLocaleString('en')} rows (empty store): ${describe(stats(firstMs), 'ms', 0)}`);
  console.log(`monthly import + diff of ${ROWS.toLocaleString('en')} rows (${diff!.joiners} joiners, ${diff!.leavers} leavers, ${diff!.changed} changed): ${describe(monthly, 'ms', 0)} (target ≤ 10000 ms: ${monthly.median <= 10_000 ? 'met' : 'NOT met'})`);
  const c = compare({ subject: 'roster import + diff', baseline: 'decode + CSV split of the same file only', unit: 'ms', work: `${ROWS} rows`, subjectSamples: monthlyMs, baselineSamples: floorMs });
  console.log(report(c, 0));
  console.log(
    JSON.stringify({
      bench: 'staff',
      smoke,
      runs,
      rows: ROWS,
      diff,
      firstImportMs: Math.round(stats(firstMs).median),
      monthlyImportMs: Math.round(monthly.median),
      withinTarget: monthly.median <= 10_000,
      monthly: summarize(c),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
