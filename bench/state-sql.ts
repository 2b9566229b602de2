/**
 * The state store's write path on both backends (lib/sql): appends to a hash-chained, gap-free
 * sequence (the audit log's and the revocation sequence's pattern: one lock, read the last entry,
 * write the next) from 1, 4 and 8 processes, against SQLite from one process in the same run.
 * PostgreSQL is a throwaway server started here (loopback, fsync on, no TLS); each process runs
 * lib/sql/test/worker.ts, timed from the moment all are ready until the last one exits.
 *
 *   npx tsx bench/state-sql.ts            # 400 appends per process
 *   npx tsx bench/state-sql.ts --quick    # 100
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../lib/sql/index.js';
import { verifyChain } from '../lib/sql/test/chain.js';
import { postgresMissing, startPostgres } from '../lib/test/postgres-server.js';

const perProcess = process.argv.includes('--quick') ? 100 : 400;
const worker = fileURLToPath(new URL('../lib/sql/test/worker.ts', import.meta.url));
const log = (line: string) => process.stdout.write(`${line}\n`);

/** Start n writers on `target`, open the barrier when all are ready; seconds until the last exits. */
async function run(target: string, n: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'jinbao-bench-sql-'));
  const barrier = join(dir, 'go');
  let ready = 0;
  let go!: () => void;
  const allReady = new Promise<void>((r) => (go = r));
  let started = 0;
  const exits = Array.from({ length: n }, (_, i) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, target, barrier, `p${i}`, String(perProcess)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let fails = 0;
    child.stdout.on('data', (b: Buffer) => {
      for (const line of b.toString().split('\n')) {
        if (line === 'ready' && ++ready === n) go();
        if (line.startsWith('fail ')) fails++;
      }
    });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0 && fails === 0) resolve();
        else reject(new Error(`writer p${i} exited ${code} with ${fails} failed appends`));
      });
    });
  });
  await Promise.race([allReady, Promise.all(exits)]);
  started = performance.now();
  writeFileSync(barrier, '');
  await Promise.all(exits);
  const seconds = (performance.now() - started) / 1000;
  rmSync(dir, { recursive: true, force: true });
  const db = await openDatabase(target);
  try {
    const check = await verifyChain(db);
    if (check.broken !== undefined || check.entries !== n * perProcess) throw new Error(`chain after ${n} writers: ${JSON.stringify(check)}, want ${n * perProcess} entries`);
  } finally {
    await db.close();
  }
  return seconds;
}

const missing = postgresMissing();
const sqliteDir = (label: string) => mkdtempSync(join(tmpdir(), `jinbao-bench-sqlite-${label}-`));
const results: { backend: string; processes: number; perSecond: number }[] = [];
const record = (backend: string, processes: number, seconds: number) => {
  const perSecond = (processes * perProcess) / seconds;
  results.push({ backend, processes, perSecond });
  log(`${backend.padEnd(10)} ${String(processes).padStart(2)} process${processes === 1 ? '  ' : 'es'}  ${(processes * perProcess).toString().padStart(5)} appends in ${seconds.toFixed(2)} s  ${perSecond.toFixed(0).padStart(6)}/s`);
};
log(`hash-chained appends, ${perProcess} per process, chain verified after each run`);
const dirs: string[] = [];
for (const n of [1, 4]) {
  const d = sqliteDir(String(n));
  dirs.push(d);
  record('SQLite', n, await run(d, n));
}
if (missing !== undefined) log(`PostgreSQL skipped: ${missing}`);
else {
  const server = await startPostgres({ prefix: 'jinbao-bench-pg-', conf: ['max_connections = 100'] });
  try {
    for (const n of [1, 4, 8]) {
      await server.sql(`CREATE DATABASE bench_${n}`);
      record('PostgreSQL', n, await run(server.url({ dbname: `bench_${n}`, sslmode: 'disable' }), n));
    }
  } finally {
    await server.close();
  }
}
for (const d of dirs) rmSync(d, { recursive: true, force: true });
const baseline = results[0]!.perSecond;
log(`ratios against SQLite from 1 process (${baseline.toFixed(0)}/s): ${results.slice(1).map((r) => `${r.backend} ×${r.processes} ${(r.perSecond / baseline).toFixed(2)}`).join(', ')}`);
