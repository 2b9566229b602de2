/**
 * The shared state backend against the embedded one, through the CLI a team would run:
 * - `jinbao up` on the built-in national inventory with its state in PostgreSQL, against the same
 *   command on SQLite in the same run (fresh store each time; the ratio is PostgreSQL / SQLite);
 * - `jinbao state migrate --to postgresql://…` of a SQLite store holding 100,000 certificates
 *   (a store made by `up`, its certificate rows multiplied with new serials), verified by the command.
 * PostgreSQL is a throwaway server started here (loopback, fsync on, no TLS).
 *
 *   npx tsx bench/state.ts [--runs N] [--smoke]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../lib/sql/index.js';
import { postgresMissing, startPostgres } from '../lib/test/postgres-server.js';
import { benchArgs, compare, describe, report, stats, summarize } from './lib.js';

const args = benchArgs({ runs: 3, smokeRuns: 1 });
const certificates = args.smoke ? 2_000 : 100_000;
const cli = fileURLToPath(new URL('../bin/jinbao.ts', import.meta.url));
const repo = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => process.stdout.write(`${line}\n`);

/** One CLI run from the repository (for tsx); local working files of a PostgreSQL state go to `work`. */
function jinbao(argv: readonly string[], work: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...argv], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LANG: 'C.UTF-8', JINBAO_WORK_DIR: join(work, '.jinbao') } });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 900_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(performance.now() - started);
      else reject(new Error(`jinbao ${argv.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

const missing = postgresMissing();
if (missing !== undefined) {
  log(`skipped: ${missing}`);
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'jinbao-bench-state-'));
const server = await startPostgres({ prefix: 'jinbao-bench-state-pg-', conf: ['max_connections = 100'] });
let databases = 0;
const freshPg = async (): Promise<string> => {
  const name = `bench_${++databases}`;
  await server.sql(`CREATE DATABASE ${name}`);
  return server.url({ dbname: name, sslmode: 'disable' });
};
try {
  const sqliteUp: number[] = [];
  const pgUp: number[] = [];
  for (let i = 0; i < args.runs; i++) {
    const dir = mkdtempSync(join(work, 'up-'));
    sqliteUp.push(await jinbao(['--state', join(dir, 'state'), 'up', '--out', join(dir, 'out')], dir));
    pgUp.push(await jinbao(['--state', await freshPg(), 'up', '--out', join(dir, 'out-pg')], dir));
    log(`run ${i + 1}: up on SQLite ${(sqliteUp.at(-1)! / 1000).toFixed(1)} s, on PostgreSQL ${(pgUp.at(-1)! / 1000).toFixed(1)} s`);
  }
  const up = compare({ subject: 'jinbao up, state in PostgreSQL', baseline: 'jinbao up, state in SQLite', unit: 'ms', work: 'one run of jinbao up on the built-in national inventory (fresh store)', subjectSamples: pgUp, baselineSamples: sqliteUp });
  log(report(up, 0));

  // A store with `certificates` rows: one made by up, its certificates copied under new serials.
  const src = join(mkdtempSync(join(work, 'big-')), 'state');
  await jinbao(['--state', src, 'up', '--out', join(work, 'big-out')], work);
  const db = await openDatabase(src);
  try {
    const [{ n }] = (await db.query<{ n: number }>('SELECT count(*) AS n FROM pki_certificates')) as [{ n: number }];
    const [template] = await db.query<Record<string, unknown>>('SELECT * FROM pki_certificates LIMIT 1');
    // The row id is the store's to give; everything else is copied, under a new serial.
    const cols = Object.keys(template!).filter((c) => c !== 'id');
    await db.write(async (tx) => {
      for (let done = n; done < certificates; ) {
        const batch = Math.min(500, certificates - done);
        const params: unknown[] = [];
        const values: string[] = [];
        for (let i = 0; i < batch; i++, done++) {
          const row: Record<string, unknown> = { ...template!, serial: `7e${done.toString(16).padStart(38, '0')}` };
          values.push(`(${cols.map((c) => (params.push(row[c]), `$${params.length}`)).join(', ')})`);
        }
        await tx.run(`INSERT INTO pki_certificates (${cols.map((c) => `"${c}"`).join(', ')}) VALUES ${values.join(', ')}`, params);
      }
    });
  } finally {
    await db.close();
  }
  const migrateMs: number[] = [];
  for (let i = 0; i < args.runs; i++) migrateMs.push(await jinbao(['--state', src, 'state', 'migrate', '--to', await freshPg()], work));
  const m = stats(migrateMs);
  log(`state migrate of a SQLite store with ${certificates} certificates to PostgreSQL: ${describe(m, 'ms', 0)}`);
  log(JSON.stringify({ bench: 'state', up: summarize(up), migrate: { certificates, ...m } }));
} finally {
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
